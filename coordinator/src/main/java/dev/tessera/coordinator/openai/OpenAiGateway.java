package dev.tessera.coordinator.openai;

import dev.tessera.coordinator.text.Tokenizer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible HTTP API of a coordinator, on Netty: {@code /v1/chat/completions} (harmony rendering and
 * parsing), {@code /v1/completions}, {@code /v1/models}, {@code /health} and {@code /metrics}. Every generation goes
 * through the leader's Inference service (see {@link Upstream}), so HTTP and gRPC requests share one scheduler,
 * one set of limits and one set of metrics.
 */
public final class OpenAiGateway implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OpenAiGateway.class);

    private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup io = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    // Request handling and gRPC callbacks: virtual threads, one per task; parsing and rendering block nothing else.
    private final ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("openai-", 0).factory());
    private final Channel server;
    private final GatewayConfig config;

    private OpenAiGateway(GatewayConfig config, Upstream upstream, Tokenizer tokenizer, GatewayMetrics metrics) throws IOException {
        this.config = config;
        GatewayHandler handler = new GatewayHandler(new ApiKeys(config.apiKeys()),
                new Endpoints(upstream, tokenizer, executor), metrics, executor);
        try {
            server = new ServerBootstrap().group(boss, io).channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec())
                                    .addLast(new JsonSizeLimit(config.maxBodyBytes()))
                                    .addLast(handler);
                        }
                    })
                    .bind(new InetSocketAddress(config.host(), config.port())).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            shutdown();
            throw new IOException("cannot serve HTTP on " + config.host() + ":" + config.port() + ": " + e.getMessage()
                    + (config.port() != 0 ? " (is another server on that port? choose another --http-port)" : ""), e);
        }
        log.info("OpenAI-compatible HTTP API on http://{}:{}/v1{}", config.host(), port(),
                config.apiKeys().isEmpty() ? "" : " (API keys required)");
    }

    public static OpenAiGateway start(GatewayConfig config, Upstream upstream, Tokenizer tokenizer, GatewayMetrics metrics)
            throws IOException {
        return new OpenAiGateway(config, upstream, tokenizer, metrics);
    }

    public int port() { return ((InetSocketAddress) server.localAddress()).getPort(); }

    public String baseUrl() { return "http://" + config.host() + ":" + port() + "/v1"; }

    /** Stops accepting, closes every connection (which cancels their requests) and stops the threads. */
    @Override
    public void close() {
        server.close().syncUninterruptibly();
        shutdown();
    }

    private void shutdown() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        io.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        executor.shutdownNow();
    }

    /** Aggregates a request up to the size limit; a bigger one gets OpenAI's JSON error with 413, then the close. */
    private static final class JsonSizeLimit extends HttpObjectAggregator {
        JsonSizeLimit(int maxBytes) { super(maxBytes, true); }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            HttpExchange exchange = new HttpExchange(ctx.channel(), false, false, status -> { }, () -> { });
            exchange.error(new ApiError(413, "invalid_request_error", "the request body is larger than "
                    + maxContentLength() + " bytes", null, "request_too_large", 0));
        }
    }
}
