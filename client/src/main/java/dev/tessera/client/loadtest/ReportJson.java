package dev.tessera.client.loadtest;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdScalarSerializer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The report as JSON, for machines: the {@link Report} record as it is, field for field, samples included:
 * <pre>{"run": {...RunInfo, "slo": {...}}, "levels": [{"level": {"offeredRate": 4.0, "concurrency": 0},
 *   "ttft": {"count": .., "mean": .., "p50": .., ...}, ..., "samples": [{...}, ...]}], "knee": 2}</pre>
 * Times are in milliseconds, rates per second, as in the records.
 *
 * <p>NOTE: JSON has no NaN or infinity, so a non-finite number (a failed request's TTFT) is written as
 * {@code null} rather than as Jackson's default string "NaN", which would make a number field sometimes a string;
 * {@link #read} turns {@code null} back into NaN (an infinity reads back as NaN too).
 */
public final class ReportJson {

    private static final ObjectMapper MAPPER = newMapper();

    private ReportJson() {}

    /** A mapper configured as above (indented output); each call builds a new one the caller may change. */
    public static ObjectMapper newMapper() {
        SimpleModule nonFinite = new SimpleModule("tessera-non-finite-as-null")
                .addSerializer(Double.class, new NonFiniteAsNull())
                .addSerializer(double.class, new NonFiniteAsNull())
                .addDeserializer(Double.class, new NullAsNaN(Double.class))
                .addDeserializer(double.class, new NullAsNaN(double.class));
        return new ObjectMapper()
                .registerModule(nonFinite)
                // NOTE: only record components: a predicate such as Slo.isSet() is not data and would not read back
                .setVisibility(PropertyAccessor.IS_GETTER, JsonAutoDetect.Visibility.NONE)
                .enable(SerializationFeature.INDENT_OUTPUT);
    }

    public static String toJson(Report report) {
        try {
            return MAPPER.writeValueAsString(report) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the report as JSON", e);
        }
    }

    public static Report fromJson(String json) throws IOException {
        return MAPPER.readValue(json, Report.class);
    }

    /** Reads a report.json written by {@link ReportWriter}. */
    public static Report read(Path file) throws IOException {
        return MAPPER.readValue(file.toFile(), Report.class);
    }

    private static final class NonFiniteAsNull extends StdScalarSerializer<Double> {
        NonFiniteAsNull() { super(Double.class); }

        @Override
        public void serialize(Double value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            if (Double.isFinite(value)) gen.writeNumber(value);
            else gen.writeNull();
        }
    }

    private static final class NullAsNaN extends StdScalarDeserializer<Double> {
        NullAsNaN(Class<?> type) { super(type); }

        @Override
        public Double deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            if (p.currentToken() == JsonToken.VALUE_NULL) return Double.NaN;
            if (p.currentToken().isNumeric()) return p.getDoubleValue();
            return (Double) ctxt.handleUnexpectedToken(Double.class, p);
        }

        @Override
        public Double getNullValue(DeserializationContext ctxt) { return Double.NaN; }
    }
}
