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
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.AttributeKey;
import java.util.ArrayDeque;
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
            if (path.startsWith("/v1/models/") && path.length() > "/v1/models/".length()) return MODEL;
            for (Route r : values()) if (r.name.equals(path)) return r;
            if (path.startsWith("/v1/models/")) return MODEL;
            return UNKNOWN;
        }
    }

    /** A request as the gateway keeps it: what it reads of it, with the body copied out of Netty's buffer. */
    private record Pending(HttpMethod method, String uri, String authorization, boolean keepAlive, boolean http10,
                           DecoderResult decoded, byte[] body) {}

    /**
     * One connection's requests, answered one at a time and in order, as HTTP/1.1 requires of pipelined requests.
     * Touched on the channel's event loop only.
     */
    private static final class Connection {
        final ArrayDeque<Pending> waiting = new ArrayDeque<>();
        boolean busy;
    }

    private static final AttributeKey<Connection> CONNECTION = AttributeKey.valueOf("tessera.gateway.connection");

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        // NOTE: after a decoding failure Netty's decoder drops the rest of the connection, so it must close.
        Pending p = new Pending(req.method(), req.uri(), req.headers().get(HttpHeaderNames.AUTHORIZATION),
                HttpUtil.isKeepAlive(req) && req.decoderResult().isSuccess(), req.protocolVersion().equals(HttpVersion.HTTP_1_0),
                req.decoderResult(), ByteBufUtil.getBytes(req.content())); // the buffer is released when this returns
        Connection c = ctx.channel().attr(CONNECTION).get();
        if (c == null) ctx.channel().attr(CONNECTION).set(c = new Connection());
        if (c.busy) {
            c.waiting.add(p);
            ctx.channel().config().setAutoRead(false); // read no more until the queue drains
            return;
        }
        handle(ctx, c, p);
    }

    private void next(ChannelHandlerContext ctx, Connection c) {
        c.busy = false;
        Pending p = c.waiting.poll();
        if (p != null) {
            handle(ctx, c, p);
        } else if (!ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
            ctx.read();
        }
    }

    private void handle(ChannelHandlerContext ctx, Connection c, Pending req) {
        c.busy = true;
        String uri = req.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        Route route = Route.of(path);
        HttpExchange exchange = new HttpExchange(ctx.channel(), req.keepAlive(), req.http10(),
                status -> metrics.httpRequest(route.name, status), () -> ctx.channel().eventLoop().execute(() -> next(ctx, c)));
        if (!req.decoded().isSuccess()) {
            exchange.error(ApiError.invalid(null, "malformed HTTP request: " + req.decoded().cause()));
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
            ApiError denied = keys.check(req.authorization());
            if (denied != null) {
                exchange.error(denied);
                return;
            }
        }
        byte[] body = req.body();
        executor.execute(() -> {
            try {
                switch (route) {
                    case CHAT -> endpoints.chat(exchange, json(body));
                    case COMPLETIONS -> endpoints.completions(exchange, json(body));
                    case MODELS -> endpoints.models(exchange);
                    case MODEL -> endpoints.model(exchange, QueryStringDecoder.decodeComponent(
                            path.substring("/v1/models/".length()).replaceAll("/$", "")));
                    case HEALTH -> endpoints.health(exchange);
                    case METRICS -> exchange.text(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
                    case UNKNOWN -> throw new IllegalStateException("unreachable");
                }
            } catch (ApiError.Refusal r) {
                exchange.error(r.error());
            } catch (Throwable e) {
                if (exchange.hasStarted()) exchange.abort();
                else exchange.error(GrpcErrors.internal(req.method() + " " + path, e));
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
