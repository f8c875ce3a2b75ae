package dev.tessera.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class HostPortTest {

    @Test
    void parsesHostsPortsAndIpv6() {
        assertEquals(new HostPort("node-1", 50051), HostPort.parse("node-1"));
        assertEquals(new HostPort("10.0.0.5", 7000), HostPort.parse("10.0.0.5:7000"));
        assertEquals(new HostPort("::1", 50051), HostPort.parse("[::1]"));
        assertEquals(new HostPort("::1", 9), HostPort.parse("[::1]:9"));
        assertEquals(new HostPort("fe80::1", 50051), HostPort.parse("fe80::1"));
        assertEquals("[::1]:9", HostPort.parse("[::1]:9").toString());
        assertEquals("node-1:50051", HostPort.parse("node-1").toString());
    }

    @Test
    void rejectsBadAddressesWithTheirText() {
        assertEquals("port \"x\" of address h:x is not a number",
                assertThrows(IllegalArgumentException.class, () -> HostPort.parse("h:x")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("h:0"));
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("[::1"));
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse(" "));
    }
}
