package dev.tessera.coordinator.harmony;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class FunctionsNamespaceTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static FunctionTool weather() {
        return new FunctionTool("get_weather", "Gets the current weather in the provided location.", json("""
                {"type": "object",
                 "properties": {
                   "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius",
                            "description": "Temperature unit"},
                   "days": {"type": "integer", "description": "Number of days to forecast", "default": 1},
                   "hourly": {"type": "boolean"}
                 },
                 "required": ["location"]}"""));
    }

    static FunctionTool location() {
        return new FunctionTool("get_location", "Gets the location of the user.", null);
    }

    @Test
    void weatherFunctionWithRequiredOptionalEnumDefaultAndDescriptions() {
        String expected = """
                # Tools

                ## functions

                namespace functions {

                // Gets the current weather in the provided location.
                type get_weather = (_: {
                // The city and state, e.g. San Francisco, CA
                location: string,
                // Temperature unit
                unit?: "celsius" | "fahrenheit", // default: celsius
                // Number of days to forecast
                days?: number, // default: 1
                hourly?: boolean,
                }) => any;

                // Gets the location of the user.
                type get_location = () => any;

                } // namespace functions""";
        assertEquals(expected, FunctionsNamespace.section(List.of(weather(), location())));
    }

    @Test
    void functionsWithoutArgumentsTakeNothing() {
        assertEquals("() => any", FunctionsNamespace.signature(null));
        assertEquals("() => any", FunctionsNamespace.signature(json("{\"type\": \"object\"}")));
        assertEquals("() => any", FunctionsNamespace.signature(json("{\"type\": \"object\", \"properties\": {}}")));
        assertEquals("() => any", FunctionsNamespace.signature(json("{}")));
        assertNull(new FunctionTool("f", null, NullNode.getInstance()).parameters());
    }

    @Test
    void nestedObjectsAndArraysAreIndented() {
        FunctionTool trip = new FunctionTool("plan_trip", "Plans a trip.\nReturns an itinerary.", json("""
                {"type": "object",
                 "properties": {
                   "stops": {"type": "array", "description": "Stops in order",
                             "items": {"type": "object",
                                       "properties": {"city": {"type": "string", "description": "City name"},
                                                      "nights": {"type": "integer"}},
                                       "required": ["city"]}},
                   "options": {"type": "object",
                               "properties": {
                                 "avoid": {"type": "array", "items": {"type": "string", "enum": ["tolls", "ferries"]}},
                                 "mode": {"type": "string", "default": "car"}}},
                   "note": {"type": ["string", "null"]},
                   "meta": {"type": "object"},
                   "tags": {"type": "array"},
                   "whatever": {}
                 },
                 "required": ["stops"]}"""));
        String expected = """
                // Plans a trip.
                // Returns an itinerary.
                type plan_trip = (_: {
                // Stops in order
                stops: {
                    // City name
                    city: string,
                    nights?: number,
                    }[],
                options?: {
                    avoid?: ("tolls" | "ferries")[],
                    mode?: string, // default: "car"
                    },
                note?: string | null,
                meta?: object,
                tags?: Array<any>,
                whatever?: any,
                }) => any;
                """;
        String section = FunctionsNamespace.section(List.of(trip));
        assertEquals("# Tools\n\n## functions\n\nnamespace functions {\n\n" + expected + "\n} // namespace functions",
                section);
    }

    @Test
    void unionsNullableConstAndNonStringEnums() {
        assertEquals("string | null", FunctionsNamespace.type(json("""
                {"anyOf": [{"type": "string"}, {"type": "null"}]}"""), ""));
        assertEquals("number | null", FunctionsNamespace.type(json("{\"type\": \"integer\", \"nullable\": true}"), ""));
        assertEquals("\"fixed\"", FunctionsNamespace.type(json("{\"const\": \"fixed\"}"), ""));
        assertEquals("1 | 2 | 3", FunctionsNamespace.type(json("{\"type\": \"integer\", \"enum\": [1, 2, 3]}"), ""));
        assertEquals("number | string", FunctionsNamespace.type(json("{\"type\": [\"integer\", \"string\"]}"), ""));
        assertEquals("any", FunctionsNamespace.type(json("true"), ""));
        assertEquals("any", FunctionsNamespace.type(json("{\"type\": \"mystery\"}"), ""));
    }

    @Test
    void namesAndParametersAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new FunctionTool("get weather", null, null));
        assertThrows(IllegalArgumentException.class, () -> new FunctionTool(" ", null, null));
        assertThrows(IllegalArgumentException.class, () -> new FunctionTool("f", null, json("\"a string\"")));
        assertThrows(IllegalArgumentException.class, () -> new ToolCall("id", null, "{}"));
        assertEquals("{}", new ToolCall("id", "f", null).arguments());
    }
}
