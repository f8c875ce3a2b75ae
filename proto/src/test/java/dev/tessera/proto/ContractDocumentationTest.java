package dev.tessera.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.DescriptorProtos.SourceCodeInfo.Location;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The contracts' rule: every service, rpc, message, field, oneof, enum and enum value carries a comment.
 * Reads the descriptor set that protoc writes with comments kept (see proto/pom.xml).
 */
class ContractDocumentationTest {

    // Field numbers of the descriptor.proto elements, as used in SourceCodeInfo.Location paths.
    private static final int FILE_MESSAGE = 4, FILE_ENUM = 5, FILE_SERVICE = 6;
    private static final int MESSAGE_FIELD = 2, MESSAGE_NESTED = 3, MESSAGE_ENUM = 4, MESSAGE_ONEOF = 8;
    private static final int ENUM_VALUE = 2, SERVICE_METHOD = 2;

    private static List<FileDescriptorProto> files;

    @BeforeAll
    static void readDescriptorSet() throws IOException {
        Path set = Path.of(System.getProperty("basedir", "."),
                "target", "generated-resources", "protobuf", "descriptor-sets", "tessera-v1.protobin");
        try (InputStream in = Files.newInputStream(set)) {
            files = FileDescriptorSet.parseFrom(in).getFileList();
        }
    }

    @Test
    void allThreeContractFilesAreThere() {
        Set<String> names = new TreeSet<>();
        for (FileDescriptorProto file : files) names.add(file.getName());
        assertEquals(Set.of("tessera/v1/common.proto", "tessera/v1/inference.proto", "tessera/v1/pipeline.proto"),
                names);
        for (FileDescriptorProto file : files) {
            assertEquals("tessera.v1", file.getPackage(), file.getName());
            assertEquals("dev.tessera.proto.v1", file.getOptions().getJavaPackage(), file.getName());
            assertTrue(file.getOptions().getJavaMultipleFiles(), file.getName());
            assertTrue(file.hasSourceCodeInfo(), "descriptor set written without comments: " + file.getName());
        }
    }

    @Test
    void everyElementHasAComment() {
        List<String> undocumented = new ArrayList<>();
        for (FileDescriptorProto file : files) {
            Map<List<Integer>, Location> locations = new HashMap<>();
            for (Location location : file.getSourceCodeInfo().getLocationList()) {
                locations.put(location.getPathList(), location);
            }
            Checker checker = new Checker(file.getName(), locations, undocumented);
            for (int i = 0; i < file.getMessageTypeCount(); i++) {
                checker.message(file.getMessageType(i), List.of(FILE_MESSAGE, i), file.getPackage());
            }
            for (int i = 0; i < file.getEnumTypeCount(); i++) {
                checker.enumType(file.getEnumType(i), List.of(FILE_ENUM, i), file.getPackage());
            }
            for (int i = 0; i < file.getServiceCount(); i++) {
                ServiceDescriptorProto service = file.getService(i);
                List<Integer> path = List.of(FILE_SERVICE, i);
                checker.require(path, "service " + service.getName());
                for (int m = 0; m < service.getMethodCount(); m++) {
                    checker.require(append(path, SERVICE_METHOD, m),
                            "rpc " + service.getName() + "." + service.getMethod(m).getName());
                }
            }
        }
        assertTrue(undocumented.isEmpty(), "elements without a comment: " + undocumented);
    }

    @Test
    void enumValuesArePrefixedAndZeroIsUnspecified() {
        List<String> wrong = new ArrayList<>();
        for (FileDescriptorProto file : files) {
            for (EnumDescriptorProto e : file.getEnumTypeList()) {
                String prefix = e.getName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase() + "_";
                if (e.getValue(0).getNumber() != 0 || !e.getValue(0).getName().equals(prefix + "UNSPECIFIED")) {
                    wrong.add(e.getName() + " zero value " + e.getValue(0).getName());
                }
                e.getValueList().stream().filter(v -> !v.getName().startsWith(prefix))
                        .forEach(v -> wrong.add(e.getName() + "." + v.getName()));
            }
        }
        assertTrue(wrong.isEmpty(), "enum values off the naming rule: " + wrong);
    }

    private static List<Integer> append(List<Integer> path, int... more) {
        List<Integer> out = new ArrayList<>(path);
        for (int m : more) out.add(m);
        return out;
    }

    private record Checker(String file, Map<List<Integer>, Location> locations, List<String> undocumented) {

        void message(DescriptorProto message, List<Integer> path, String scope) {
            String name = scope + "." + message.getName();
            require(path, "message " + name);
            for (int f = 0; f < message.getFieldCount(); f++) {
                require(append(path, MESSAGE_FIELD, f), "field " + name + "." + message.getField(f).getName());
            }
            for (int o = 0; o < message.getOneofDeclCount(); o++) {
                if (message.getOneofDecl(o).getName().startsWith("_")) continue; // synthetic, from `optional`
                require(append(path, MESSAGE_ONEOF, o), "oneof " + name + "." + message.getOneofDecl(o).getName());
            }
            for (int n = 0; n < message.getNestedTypeCount(); n++) {
                message(message.getNestedType(n), append(path, MESSAGE_NESTED, n), name);
            }
            for (int e = 0; e < message.getEnumTypeCount(); e++) {
                enumType(message.getEnumType(e), append(path, MESSAGE_ENUM, e), name);
            }
        }

        void enumType(EnumDescriptorProto e, List<Integer> path, String scope) {
            String name = scope + "." + e.getName();
            require(path, "enum " + name);
            for (int v = 0; v < e.getValueCount(); v++) {
                require(append(path, ENUM_VALUE, v), "enum value " + name + "." + e.getValue(v).getName());
            }
        }

        void require(List<Integer> path, String what) {
            Location location = locations.get(path);
            boolean documented = location != null
                    && !(location.getLeadingComments().isBlank() && location.getTrailingComments().isBlank());
            if (!documented) undocumented.add(file + ": " + what);
        }
    }
}
