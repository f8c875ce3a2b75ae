package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes each HTTP request to its endpoint. Runs on Netty's event loop only long enough to copy the body and check
 * the key; parsing, tokenizing and rendering run on the gateway's executor (virtual threads), so a long prompt
 * never stalls other connections.
 */
@ChannelHandler.Sharable
final class GatewayHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(GatewayHandler.class);

    private final ApiKeys keys;
    private final Endpoints endpoints;
    private final GatewayMetrics metrics;
    private final ExecutorService executor;

    GatewayHandler(ApiKeys keys, Endpoints endpoints, GatewayMetrics metrics, ExecutorService executor) {
        this.keys = keys;
        this.endpoints = endpoints;
        this.metrics = metrics;
        this.executor = executor;
    }

    /** A request's route: a fixed name for metrics and the method it takes. */
    private enum Route {
        CHAT("/v1/chat/completions", HttpMethod.POST),
        COMPLETIONS("/v1/completions", HttpMethod.POST),
        MODELS("/v1/models", HttpMethod.GET),
        MODEL("/v1/models/{id}", HttpMethod.GET),
        HEALTH("/health", HttpMethod.GET),
        METRICS("/metrics", HttpMethod.GET),
        UNKNOWN("other", null);

        final String name;
        final HttpMethod method;

        Route(String name, HttpMethod method) {
            this.name = name;
            this.method = method;
        }

        static Route of(String path) {
            if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
            for (Route r : values()) if (r.name.equals(path)) return r;
            if (path.startsWith("/v1/models/")) return MODEL;
            return UNKNOWN;
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        String uri = req.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        Route route = Route.of(path);
        HttpExchange exchange = new HttpExchange(ctx.channel(), HttpUtil.isKeepAlive(req),
                status -> metrics.httpRequest(route.name, status));
        if (!req.decoderResult().isSuccess()) {
            exchange.error(ApiError.invalid(null, "malformed HTTP request: " + req.decoderResult().cause()));
            return;
        }
        if (route == Route.UNKNOWN) {
            exchange.error(new ApiError(404, "invalid_request_error", "no such endpoint: " + req.method() + " " + path
                    + "; this server serves /v1/chat/completions, /v1/completions, /v1/models, /health and /metrics",
                    null, "unknown_url", 0));
            return;
        }
        if (!route.method.equals(req.method())) {
            exchange.error(new ApiError(405, "invalid_request_error", path + " takes " + route.method + ", not " + req.method(),
                    null, "method_not_allowed", 0));
            return;
        }
        if (path.startsWith("/v1/")) {
            ApiError denied = keys.check(req.headers().get(HttpHeaderNames.AUTHORIZATION));
            if (denied != null) {
                exchange.error(denied);
                return;
            }
        }
        byte[] body = ByteBufUtil.getBytes(req.content()); // the buffer is released when this method returns
        executor.execute(() -> {
            try {
                switch (route) {
                    case CHAT -> endpoints.chat(exchange, json(body));
                    case COMPLETIONS -> endpoints.completions(exchange, json(body));
                    case MODELS -> endpoints.models(exchange);
                    case MODEL -> endpoints.model(exchange, path.substring("/v1/models/".length()));
                    case HEALTH -> endpoints.health(exchange);
                    case METRICS -> exchange.text(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
                    case UNKNOWN -> throw new IllegalStateException("unreachable");
                }
            } catch (ApiError.Refusal r) {
                exchange.error(r.error());
            } catch (RuntimeException e) {
                exchange.error(GrpcErrors.internal(req.method() + " " + path, e));
            }
        });
    }

    private static JsonNode json(byte[] body) throws ApiError.Refusal {
        if (body.length == 0) throw ApiError.invalid(null, "the request body is empty; send a JSON object").refusal();
        try {
            return HttpExchange.JSON.readTree(body);
        } catch (JacksonException e) {
            throw ApiError.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage()).refusal();
        } catch (IOException e) {
            throw ApiError.invalid(null, "the request body could not be read: " + e.getMessage()).refusal();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset connection is a client going away; anything else is worth a line. Either way the channel closes,
        // which cancels the request it was streaming.
        if (cause instanceof IOException) log.debug("HTTP connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        else log.warn("HTTP connection {} failed", ctx.channel().remoteAddress(), cause);
        ctx.close();
    }
}
