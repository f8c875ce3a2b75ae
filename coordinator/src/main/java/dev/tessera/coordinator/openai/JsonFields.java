package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of one JSON object's fields, as OpenAI validates them: an absent field or a JSON null means "not
 * given"; a field of the wrong type is a 400 naming the field (with its path, e.g. {@code messages[2].content}).
 * Fields nobody reads are ignored, as OpenAI ignores unknown fields.
 */
final class JsonFields {

    private final JsonNode object;
    private final String path;   // "" at the top level, else "messages[2]." and so on

    private JsonFields(JsonNode object, String path) {
        this.object = object;
        this.path = path;
    }

    /** The request body: must be a JSON object. */
    static JsonFields body(JsonNode body) throws ApiError.Refusal {
        if (body == null || !body.isObject())
            throw ApiError.invalid(null, "the request body must be a JSON object").refusal();
        return new JsonFields(body, "");
    }

    String name(String field) { return path + field; }

    boolean has(String field) {
        JsonNode v = object.get(field);
        return v != null && !v.isNull();
    }

    JsonNode raw(String field) {
        JsonNode v = object.get(field);
        return v == null || v.isNull() ? null : v;
    }

    String string(String field) throws ApiError.Refusal {
        JsonNode v = raw(field);
        if (v == null) return null;
        if (!v.isTextual()) throw wrongType(field, "a string", v);
        return v.textValue();
    }

    String requiredString(String field) throws ApiError.Refusal {
        String v = string(field);
        if (v == null) throw ApiError.invalid(name(field), "'" + name(field) + "' is required").refusal();
        return v;
    }

    Double number(String field) throws ApiError.Refusal {
        JsonNode v = raw(field);
        if (v == null) return null;
        if (!v.isNumber()) throw wrongType(field, "a number", v);
        return v.doubleValue();
    }

    /** A whole number; 3.0 counts as 3, as JSON does not tell them apart. */
    Long integer(String field) throws ApiError.Refusal {
        JsonNode v = raw(field);
        if (v == null) return null;
        if (!v.isNumber() || v.doubleValue() != Math.rint(v.doubleValue()) || !v.canConvertToLong())
            throw wrongType(field, "an integer", v);
        return v.longValue();
    }

    Boolean bool(String field) throws ApiError.Refusal {
        JsonNode v = raw(field);
        if (v == null) return null;
        if (!v.isBoolean()) throw wrongType(field, "a boolean", v);
        return v.booleanValue();
    }

    JsonFields object(String field) throws ApiError.Refusal {
        JsonNode v = raw(field);
        if (v == null) return null;
        if (!v.isObject()) throw wrongType(field, "an object", v);
        return new JsonFields(v, name(field) + ".");
    }

    /** An array's elements, each an object, as fields under {@code field[i].}. */
    List<JsonFields> objects(String field) throws ApiError.Refusal {
        JsonNode v = raw(field);
        if (v == null) return null;
        if (!v.isArray()) throw wrongType(field, "an array", v);
        List<JsonFields> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            String at = name(field) + "[" + i + "]";
            if (!e.isObject())
                throw ApiError.invalid(at, "'" + at + "' must be an object, got " + kind(e)).refusal();
            out.add(new JsonFields(e, at + "."));
        }
        return out;
    }

    /** OpenAI's {@code stop}: a string or an array of strings; null when absent. */
    List<String> stringOrStrings(String field) throws ApiError.Refusal {
        JsonNode v = raw(field);
        if (v == null) return null;
        if (v.isTextual()) return List.of(v.textValue());
        if (!v.isArray()) throw wrongType(field, "a string or an array of strings", v);
        List<String> out = new ArrayList<>(v.size());
        for (JsonNode e : v) {
            if (!e.isTextual()) throw wrongType(field, "a string or an array of strings", v);
            out.add(e.textValue());
        }
        return out;
    }

    private ApiError.Refusal wrongType(String field, String expected, JsonNode got) {
        return ApiError.invalid(name(field), "'" + name(field) + "' must be " + expected + ", got " + kind(got)).refusal();
    }

    static String kind(JsonNode v) {
        if (v.isTextual()) return "a string";
        if (v.isNumber()) return "a number";
        if (v.isBoolean()) return "a boolean";
        if (v.isArray()) return "an array";
        if (v.isObject()) return "an object";
        return "null";
    }
}
