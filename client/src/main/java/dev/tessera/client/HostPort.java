package dev.tessera.client;

/**
 * A gRPC server address: a host name or IP literal and a TCP port.
 *
 * @param host a host name, an IPv4 literal or an IPv6 literal (without brackets); not blank
 * @param port the TCP port, 1 .. 65535
 */
public record HostPort(String host, int port) {

    /** The port a coordinator's Inference service listens on unless configured otherwise. */
    public static final int DEFAULT_PORT = 50051;

    public HostPort {
        if (host == null || host.isBlank())
            throw new IllegalArgumentException("the server address has no host name");
        if (host.startsWith("[") || host.endsWith("]"))
            throw new IllegalArgumentException("give the IPv6 host " + host + " without brackets");
        if (port < 1 || port > 65535)
            throw new IllegalArgumentException("port " + port + " of " + host + " is not in 1 .. 65535");
    }

    /**
     * Parses {@code host}, {@code host:port}, {@code [ipv6]} or {@code [ipv6]:port}; the port defaults to
     * {@value #DEFAULT_PORT}. A bare IPv6 literal without brackets ({@code ::1}) is taken as a host.
     */
    public static HostPort parse(String address) {
        if (address == null || address.isBlank())
            throw new IllegalArgumentException("the server address is empty; give host or host:port");
        String a = address.strip();
        if (a.startsWith("[")) {
            int close = a.indexOf(']');
            if (close < 0) throw new IllegalArgumentException("address " + a + " opens a [ but never closes it");
            String host = a.substring(1, close), rest = a.substring(close + 1);
            if (rest.isEmpty()) return new HostPort(host, DEFAULT_PORT);
            if (!rest.startsWith(":")) throw new IllegalArgumentException("address " + a + " has text after ] that is not :port");
            return new HostPort(host, port(a, rest.substring(1)));
        }
        int colon = a.lastIndexOf(':');
        if (colon < 0) return new HostPort(a, DEFAULT_PORT);
        if (a.indexOf(':') != colon) return new HostPort(a, DEFAULT_PORT); // an IPv6 literal without a port
        return new HostPort(a.substring(0, colon), port(a, a.substring(colon + 1)));
    }

    private static int port(String address, String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port \"" + text + "\" of address " + address + " is not a number", e);
        }
    }

    /** {@code host:port}, with an IPv6 host in brackets, as {@code CoordinatorInfo.address} writes it. */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
