package dev.tessera.coordinator.openai;

import io.grpc.Status;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** How a refusal of the Inference service reads over HTTP: each gRPC status code to OpenAI's status and type. */
final class GrpcErrors {

    private static final Logger log = LoggerFactory.getLogger(GrpcErrors.class);

    private GrpcErrors() {}

    static ApiError toApiError(Status status, String what) {
        String description = status.getDescription() != null ? status.getDescription() : status.getCode().toString();
        return switch (status.getCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE -> ApiError.invalid(null, description);
            case NOT_FOUND -> ApiError.notFound(description, "model_not_found");
            case RESOURCE_EXHAUSTED -> ApiError.overloaded(description);
            case UNAVAILABLE, FAILED_PRECONDITION, ABORTED -> ApiError.unavailable(description);
            case DEADLINE_EXCEEDED -> new ApiError(504, "timeout", description, null, null, 0);
            case CANCELLED -> ApiError.unavailable("the request was cancelled by the server: " + description);
            default -> internal(what, status.asRuntimeException());
        };
    }

    /** A 500 whose id is also in the log line, with the cause, so an operator can find it. */
    static ApiError internal(String what, Throwable cause) {
        String incident = "err_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        log.error("{} failed ({}): {}", what, incident, cause.toString(), cause);
        return ApiError.internal(incident);
    }
}
