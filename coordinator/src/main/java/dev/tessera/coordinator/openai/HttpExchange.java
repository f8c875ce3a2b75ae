package dev.tessera.coordinator.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GenericFutureListener;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;

/**
 * One HTTP request's response side over a Netty channel: either one complete body (JSON or text) or a stream of
 * server-sent events. Safe to call from any thread (Netty hands writes to the channel's event loop, in order).
 *
 * <p>NOTE: exactly one response per exchange; a second attempt is ignored, so a late error after a stream has
 * ended cannot corrupt the next response on a kept-alive connection. When the response has been written,
 * {@code onEnd} runs, so the connection can take its next request (requests on one connection are answered one at a
 * time, in order; see {@link GatewayHandler}).
 *
 * <p>HTTP/1.0 clients get an HTTP/1.0 event stream: no chunked encoding (1.0 has none), the end of the body marked
 * by closing the connection.
 */
final class HttpExchange {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT_END = {'\n', '\n'};

    private final Channel channel;
    private final boolean keepAlive;
    private final boolean http10;
    private final IntConsumer onStatus;   // the status of the response, once, for metrics
    private final Runnable onEnd;         // the response is written: the connection may go on
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean ended;
    private GenericFutureListener<Future<Void>> disconnect;   // guarded by this

    HttpExchange(Channel channel, boolean keepAlive, boolean http10, IntConsumer onStatus, Runnable onEnd) {
        this.channel = channel;
        this.keepAlive = keepAlive && !http10;
        this.http10 = http10;
        this.onStatus = onStatus;
        this.onEnd = onEnd;
    }

    /**
     * Runs {@code action} when the client goes away before the response has ended (a disconnect), at once if it is
     * already gone. The listener is removed when the response ends, so a kept-alive connection does not collect one
     * per request.
     */
    void onDisconnect(Runnable action) {
        GenericFutureListener<Future<Void>> l = f -> {
            if (!ended) action.run();
        };
        synchronized (this) {
            if (ended) return;
            disconnect = l;
        }
        channel.closeFuture().addListener(l);
    }

    private void ended() {
        ended = true;
        GenericFutureListener<Future<Void>> l;
        synchronized (this) {
            l = disconnect;
            disconnect = null;
        }
        if (l != null) channel.closeFuture().removeListener(l);
    }

    boolean isOpen() { return channel.isActive() && !ended; }

    boolean isStreaming() { return started.get() && !ended; }

    boolean hasStarted() { return started.get(); }

    void json(HttpResponseStatus status, JsonNode body) {
        json(status, body, 0);
    }

    void error(ApiError error) {
        json(HttpResponseStatus.valueOf(error.status()), error.toJson(), error.retryAfter());
    }

    private void json(HttpResponseStatus status, JsonNode body, int retryAfter) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a response", e);
        }
        full(status, "application/json", bytes, retryAfter);
    }

    void text(HttpResponseStatus status, String contentType, String body) {
        full(status, contentType, body.getBytes(StandardCharsets.UTF_8), 0);
    }

    private void full(HttpResponseStatus status, String contentType, byte[] body, int retryAfter) {
        if (!started.compareAndSet(false, true)) return;
        ended();
        onStatus.accept(status.code());
        FullHttpResponse res = new DefaultFullHttpResponse(http10 ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        if (retryAfter > 0) res.headers().setInt(HttpHeaderNames.RETRY_AFTER, retryAfter);
        if (!keepAlive) res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        finish(channel.writeAndFlush(res));
    }

    /** Sends the 200 header of an event stream; events follow with {@link #event}, the end with {@link #endEvents}. */
    void startEvents() {
        if (!started.compareAndSet(false, true)) throw new IllegalStateException("the response has already started");
        onStatus.accept(200);
        HttpResponse res = new DefaultHttpResponse(http10 ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
        if (!http10) HttpUtil.setTransferEncodingChunked(res, true);
        if (!keepAlive) res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        channel.writeAndFlush(res);
    }

    /** One {@code data: <json>} event; the future completes when it has been written to the socket. */
    ChannelFuture event(JsonNode data) {
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(data);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize an event", e);
        }
        ByteBuf buf = channel.alloc().buffer(DATA.length + json.length + EVENT_END.length);
        buf.writeBytes(DATA).writeBytes(json).writeBytes(EVENT_END);
        return channel.writeAndFlush(new DefaultHttpContent(buf));
    }

    /** Ends the event stream with {@code data: [DONE]}, as OpenAI does, and the chunked body's last part. */
    void endEvents() {
        if (ended) return;
        ended();
        channel.write(new DefaultHttpContent(Unpooled.wrappedBuffer(DONE)));
        finish(channel.writeAndFlush(new DefaultLastHttpContent()));
    }

    /** Gives up on a response that has begun and cannot be ended properly: the client sees the connection close. */
    void abort() {
        ended();
        channel.close();
    }

    private void finish(ChannelFuture written) {
        if (!keepAlive) written.addListener(ChannelFutureListener.CLOSE);
        else written.addListener(f -> onEnd.run());
    }
}
