package ctm

// Several ctmd replicas behind one connection: a static list balanced round-robin.

import (
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

const roundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`

// Target returns what to pass to grpc.Dial for address: one host:port as it is, or several
// comma-separated (the replicas of one store) as one connection that balances calls
// round-robin over them and skips the ones that do not answer, so calls fail over and Watch
// resumes on another replica. A list must hold IP addresses ("10.0.0.1:7411",
// "[fd00::1]:7411"); for host names, give one DNS name that resolves to every replica
// ("dns:///ctm.internal:7411"), balanced the same way.
//
//	target, extra, err := ctm.Target("10.0.0.1:7411,10.0.0.2:7411")
//	conn, err := grpc.Dial(target, append(opts, extra...)...)
func Target(address string) (string, []grpc.DialOption, error) {
	var parts []string
	for _, p := range strings.Split(address, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "", nil, fmt.Errorf("no address given")
	}
	if len(parts) == 1 {
		if strings.HasPrefix(parts[0], "dns:") {
			return parts[0], []grpc.DialOption{grpc.WithDefaultServiceConfig(roundRobin)}, nil
		}
		return parts[0], nil, nil
	}
	addrs := make([]resolver.Address, 0, len(parts))
	v4 := 0
	for _, p := range parts {
		host, _, err := net.SplitHostPort(p)
		ip := net.ParseIP(host)
		if err != nil || ip == nil {
			return "", nil, fmt.Errorf("%s: several addresses must each be an IP address with its port (for host names, give one DNS name that resolves to every replica)", p)
		}
		if ip.To4() != nil {
			v4++
		}
		addrs = append(addrs, resolver.Address{Addr: p})
	}
	if v4 != 0 && v4 != len(addrs) {
		return "", nil, fmt.Errorf("%s: give IPv4 or IPv6 addresses, not both", address)
	}
	r := manual.NewBuilderWithScheme("ctm-replicas")
	r.InitialState(resolver.State{Addresses: addrs})
	return r.Scheme() + ":///replicas", []grpc.DialOption{grpc.WithResolvers(r), grpc.WithDefaultServiceConfig(roundRobin)}, nil
}
