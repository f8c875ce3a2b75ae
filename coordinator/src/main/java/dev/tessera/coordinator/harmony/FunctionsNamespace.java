package dev.tessera.coordinator.harmony;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The developer message's "# Tools" section: the request's functions as a TypeScript-like {@code namespace
 * functions}, the form gpt-oss was trained to read.
 *
 * <p>JSON Schema maps to types as harmony renders them: an object's properties one per line as
 * {@code name: type,} ({@code name?:} when not in "required"), each preceded by {@code // description} lines and
 * followed by {@code // default: x}; string enums as {@code "a" | "b"}; integer and number as {@code number};
 * arrays as {@code T[]} ({@code Array<any>} without "items"); nested objects indented four more spaces; "nullable"
 * as {@code | null}; anything else as {@code any}. A function whose parameters are absent or have no properties
 * renders as {@code type name = () => any;}.
 *
 * <p>NOTE: a few choices where harmony's own renderer is quirky or silent: "oneOf"/"anyOf" become a one-line union
 * {@code A | B} (harmony lays variants out on lines of their own); "const" and enums of non-strings become JSON
 * literals; an object without properties is {@code object}; "title" and "examples" are not rendered, nor is an
 * object's own description (its property's description already is); a multi-line description becomes several
 * {@code //} lines; a union inside an array is parenthesised.
 */
final class FunctionsNamespace {

    private static final String INDENT = "    ";

    private FunctionsNamespace() {}

    /** The "# Tools" section for {@code tools}; must not be empty. */
    static String section(List<FunctionTool> tools) {
        if (tools.isEmpty()) throw new IllegalArgumentException("no tools to render");
        StringBuilder out = new StringBuilder("# Tools\n\n## functions\n\nnamespace functions {\n\n");
        for (FunctionTool tool : tools) {
            if (tool.description() != null) tool.description().lines().forEach(l -> out.append("// ").append(l).append('\n'));
            out.append("type ").append(tool.name()).append(" = ").append(signature(tool.parameters())).append(";\n\n");
        }
        return out.append("} // namespace functions").toString();
    }

    /** {@code () => any} or {@code (_: {...}) => any}. */
    static String signature(JsonNode parameters) {
        if (parameters == null || takesNothing(parameters)) return "() => any";
        return "(_: " + type(parameters, "") + ") => any";
    }

    private static boolean takesNothing(JsonNode schema) {
        String type = schema.path("type").asText("object");
        JsonNode properties = schema.get("properties");
        return type.equals("object") && (properties == null || !properties.isObject() || properties.isEmpty());
    }

    /** The TypeScript-like type of {@code schema}; an object's lines are indented by {@code indent}. */
    static String type(JsonNode schema, String indent) {
        if (schema == null || !schema.isObject()) return "any";
        String type = baseType(schema, indent);
        if (schema.path("nullable").asBoolean(false) && !type.contains("null")) type += " | null";
        return type;
    }

    private static String baseType(JsonNode schema, String indent) {
        JsonNode union = schema.has("oneOf") ? schema.get("oneOf") : schema.get("anyOf");
        if (union != null && union.isArray() && !union.isEmpty()) {
            Set<String> variants = new LinkedHashSet<>();
            for (JsonNode variant : union) variants.add(type(variant, indent));
            return String.join(" | ", variants);
        }
        if (schema.has("const")) return schema.get("const").toString();
        JsonNode values = schema.get("enum");
        if (values != null && values.isArray() && !values.isEmpty()) {
            List<String> literals = new ArrayList<>();
            for (JsonNode value : values) literals.add(value.toString());
            return String.join(" | ", literals);
        }
        JsonNode typeNode = schema.get("type");
        if (typeNode != null && typeNode.isArray()) {
            Set<String> names = new LinkedHashSet<>();
            for (JsonNode name : typeNode) if (name.isTextual()) names.add(primitive(name.asText()));
            return names.isEmpty() ? "any" : String.join(" | ", names);
        }
        String name = typeNode != null && typeNode.isTextual() ? typeNode.asText()
                : schema.has("properties") ? "object" : "";
        return switch (name) {
            case "object" -> object(schema, indent);
            case "array" -> array(schema, indent);
            default -> primitive(name);
        };
    }

    private static String primitive(String name) {
        return switch (name) {
            case "string", "boolean", "null", "number" -> name;
            case "integer" -> "number";
            default -> "any";
        };
    }

    private static String array(JsonNode schema, String indent) {
        JsonNode items = schema.get("items");
        if (items == null || !items.isObject()) return "Array<any>";
        String item = type(items, indent);
        return (item.contains(" | ") ? "(" + item + ")" : item) + "[]";
    }

    private static String object(JsonNode schema, String indent) {
        JsonNode properties = schema.get("properties");
        if (properties == null || !properties.isObject() || properties.isEmpty()) return "object";
        Set<String> required = new HashSet<>();
        schema.path("required").forEach(r -> required.add(r.asText()));
        StringBuilder out = new StringBuilder("{\n");
        for (Map.Entry<String, JsonNode> property : properties.properties()) {
            JsonNode value = property.getValue();
            JsonNode description = value.get("description");
            if (description != null && description.isTextual())
                description.asText().lines().forEach(l -> out.append(indent).append("// ").append(l).append('\n'));
            out.append(indent).append(property.getKey()).append(required.contains(property.getKey()) ? "" : "?")
                    .append(": ").append(type(value, indent + INDENT)).append(',');
            if (value.has("default")) out.append(" // default: ").append(defaultText(value));
            out.append('\n');
        }
        return out.append(indent).append('}').toString();
    }

    /** A string default is quoted unless the property is an enum (whose values are already shown quoted). */
    private static String defaultText(JsonNode property) {
        JsonNode value = property.get("default");
        if (!value.isTextual()) return value.toString();
        return property.has("enum") ? value.asText() : "\"" + value.asText() + "\"";
    }
}
