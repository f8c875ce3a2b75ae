package dev.tessera.coordinator.openai;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * Bearer-token check for /v1/*. With no keys configured every request passes (a trusted network).
 *
 * <p>NOTE: keys are compared with {@link MessageDigest#isEqual} over every configured key, so the time taken
 * tells an attacker nothing about how much of a guess was right.
 */
final class ApiKeys {

    private final List<byte[]> keys;

    ApiKeys(List<String> keys) {
        this.keys = keys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
    }

    boolean required() { return !keys.isEmpty(); }

    /** Null when the request may pass, else the 401 to send. */
    ApiError check(String authorization) {
        if (keys.isEmpty()) return null;
        if (authorization == null || authorization.isBlank())
            return ApiError.unauthorized("this server needs an API key: send the header 'Authorization: Bearer <key>'");
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7))
            return ApiError.unauthorized("the Authorization header must be 'Bearer <key>'");
        byte[] given = authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (byte[] k : keys) ok |= MessageDigest.isEqual(k, given);
        return ok ? null : ApiError.unauthorized("incorrect API key");
    }
}
