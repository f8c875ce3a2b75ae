package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A request the gateway refuses or cannot finish, in OpenAI's error shape:
 * {@code {"error": {"message", "type", "param", "code"}}} with the HTTP status that goes with it.
 *
 * @param status     HTTP status (400, 401, 404, 405, 413, 429, 500, 503)
 * @param type       OpenAI's error type ("invalid_request_error", "authentication_error", ...)
 * @param message    what went wrong, for a human
 * @param param      the request field at fault, or null
 * @param code       a machine-readable code ("model_not_found", ...), or null
 * @param retryAfter seconds for a Retry-After header (429, 503), or 0 for none
 */
public record ApiError(int status, String type, String message, String param, String code, int retryAfter) {

    public ApiError {
        if (status < 400 || status > 599) throw new IllegalArgumentException("not an error status: " + status);
        if (message == null || message.isBlank()) throw new IllegalArgumentException("an error needs a message");
    }

    public static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", message, param, null, 0);
    }

    public static ApiError unauthorized(String message) {
        return new ApiError(401, "authentication_error", message, null, "invalid_api_key", 0);
    }

    public static ApiError notFound(String message, String code) {
        return new ApiError(404, "invalid_request_error", message, null, code, 0);
    }

    public static ApiError overloaded(String message) {
        return new ApiError(429, "rate_limit_error", message, null, "rate_limit_exceeded", 1);
    }

    public static ApiError unavailable(String message) {
        return new ApiError(503, "service_unavailable", message, null, null, 2);
    }

    /** An internal failure: the message carries an id that the log line of the same failure also carries. */
    public static ApiError internal(String incidentId) {
        return new ApiError(500, "server_error", "the server failed to handle the request; quote " + incidentId
                + " to find it in the coordinator's log", null, "internal_error", 0);
    }

    public ObjectNode toJson() {
        ObjectNode error = JsonNodeFactory.instance.objectNode();
        error.put("message", message).put("type", type);
        if (param == null) error.putNull("param"); else error.put("param", param);
        if (code == null) error.putNull("code"); else error.put("code", code);
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.set("error", error);
        return body;
    }

    /** Thrown where a request is refused, caught where the response is written. */
    public static final class Refusal extends Exception {
        private final ApiError error;

        public Refusal(ApiError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }

        public ApiError error() { return error; }
    }

    public Refusal refusal() { return new Refusal(this); }
}
