package dev.tessera.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.TesseraMainTest.Run;
import dev.tessera.proto.v1.CoordinatorInfo;
import dev.tessera.proto.v1.GenerateRequest;
import dev.tessera.proto.zk.ZkLayout;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code tessera generate} against a fake coordinator over Netty on 127.0.0.1, run in-process as a user runs it. */
class GenerateCommandTest {

    private final FakeInferenceService fake = new FakeInferenceService();
    private Server server;
    private String port;

    @BeforeEach
    void start() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(fake).build().start();
        port = Integer.toString(server.getPort());
    }

    @AfterEach
    void stop() throws Exception {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void jsonPrintsTheFinishedResultAndTheFlagsReachTheRequest() throws Exception {
        Run r = TesseraMainTest.run("generate", "--port", port, "--json", "--token-ids", "200006,1428,200008",
                "--max-tokens", "10", "--temperature", "0", "--seed", "5", "--top-k", "40",
                "--stop", "\n\n", "--stop-token-id", "200002", "--stop-token-id", "200007");
        assertEquals(0, r.exit(), r.err());
        assertEquals(1, r.out().strip().lines().count(), "one JSON object on one line: " + r.out());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(List.of(13225, 11, 2375, 200002), ints(json.get("token_ids")));
        assertEquals("Hello, world", json.get("text").asText());
        assertEquals("stop", json.get("finish_reason").asText());
        assertEquals(200002, json.get("matched_stop").asInt());
        assertEquals("fake-1", json.get("request_id").asText());
        assertEquals(3, json.get("usage").get("prompt_tokens").asInt());
        assertEquals(4, json.get("usage").get("completion_tokens").asInt());
        assertEquals(800, json.get("usage").get("time_to_first_token_us").asLong());

        GenerateRequest sent = fake.lastRequest.get();
        assertEquals(List.of(200006, 1428, 200008), sent.getTokenIds().getIdsList());
        assertEquals(10, sent.getSampling().getMaxTokens());
        assertEquals(0f, sent.getSampling().getTemperature());
        assertEquals(5, sent.getSampling().getSeed());
        assertEquals(40, sent.getSampling().getTopK());
        assertEquals(List.of("\n\n"), sent.getStopStringsList());
        assertEquals(List.of(200002, 200007), sent.getStopTokenIdsList());
    }

    @Test
    void streamsTextToStdoutAndASummaryToStderr() {
        Run r = TesseraMainTest.run("generate", "--port", port, "--max-tokens", "2", "<|start|>user<|message|>Hi");
        assertEquals(0, r.exit(), r.err());
        assertEquals("Hello,\n", r.out());
        assertTrue(r.err().strip().matches("generate: 2 tokens, finish_reason=length, time to first token \\d+ ms, "
                + "[0-9.]+ tokens/s \\(request fake-1\\)"), r.err());
        assertEquals("<|start|>user<|message|>Hi", fake.lastRequest.get().getText());
        assertTrue(!fake.lastRequest.get().getSampling().hasTemperature(), "no --temperature: the server's default");
    }

    @Test
    void findsTheLeaderInZooKeeper() throws Exception {
        ZkLayout layout = new ZkLayout("/tessera-generate-test");
        try (TestingServer zk = new TestingServer(true);
             CuratorFramework curator = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100))) {
            curator.start();
            curator.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(layout.leaderPath(),
                    CoordinatorInfo.newBuilder().setCoordinatorId("c1").setAddress("127.0.0.1:" + port).setEpoch(1).build().toByteArray());
            Run r = TesseraMainTest.run("generate", "--zookeeper", zk.getConnectString(), "--zk-root", layout.root(),
                    "--json", "--max-tokens", "1", "hi");
            assertEquals(0, r.exit(), r.err());
            assertEquals("Hello", new ObjectMapper().readTree(r.out()).get("text").asText());

            curator.delete().forPath(layout.leaderPath());
            Run none = TesseraMainTest.run("generate", "--zookeeper", zk.getConnectString(), "--zk-root", layout.root(),
                    "--timeout", "0.5", "hi");
            assertEquals(1, none.exit());
            assertTrue(none.err().startsWith("error: UNAVAILABLE: no leader coordinator registered under /tessera-generate-test/coordinators/leader"),
                    none.err());
        }
    }

    @Test
    void aTokenIdPromptStreamsTokenIds() {
        Run r = TesseraMainTest.run("generate", "--port", port, "--token-ids", "1,2");
        assertEquals(0, r.exit(), r.err());
        assertEquals("13225 11 2375 200002", r.out().strip());
    }

    @Test
    void aServerErrorIsOneLineAndExitCode1() {
        Run r = TesseraMainTest.run("generate", "--port", port, "--model", "missing", "hi");
        assertEquals(1, r.exit());
        assertEquals("error: NOT_FOUND: unknown model \"missing\"; ListModels shows the models served", r.err().strip());
        assertEquals("", r.out());
    }

    @Test
    void anUnreachableServerNamesTheAddressAndSuggestsUp() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        Run r = TesseraMainTest.run("generate", "--port", Integer.toString(closed), "--timeout", "5", "hi");
        assertEquals(1, r.exit());
        String line = r.err().strip();
        assertEquals(1, line.lines().count(), line);
        assertTrue(line.startsWith("error: cannot reach a Tessera coordinator at 127.0.0.1:" + closed), line);
        assertTrue(line.endsWith("start one with ./tessera up"), line);
    }

    @Test
    void promptAndTokenIdsTogetherIsAUsageError() {
        Run r = TesseraMainTest.run("generate", "--port", port, "--token-ids", "1", "hi");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("give a prompt text or --token-ids (one of the two)"), r.err());
    }

    private static List<Integer> ints(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asInt).toList();
    }
}
