package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"time"
)

// loopbackHost is the name dialed on loopback: whatever the host's
// /etc/hosts says it is, since without root the bench cannot point the
// clients at its own DNS server.
const loopbackHost = "localhost"

// runLoopback runs what needs neither root nor TUN: the clients dial
// localhost on the host's own loopback, with every address listening and,
// when localhost has both an IPv6 and an IPv4 address, with the IPv6 one
// refusing. There is no latency to emulate and no wire to count attempts.
func runLoopback(ctx context.Context, r *report, cls []client, o options) error {
	r.Mode = "loopback"
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", loopbackHost)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	// Only loopback addresses this host can listen on (a container may
	// list ::1 in /etc/hosts without IPv6).
	addrs = slices.DeleteFunc(addrs, func(a netip.Addr) bool {
		if !a.IsLoopback() {
			return true
		}
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			return true
		}
		ln.Close()
		return false
	})
	slices.SortStableFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	addrs = slices.Compact(addrs)
	if len(addrs) == 0 {
		return errors.New("loopback: localhost resolves to no loopback address")
	}
	r.Notes = append(r.Notes, fmt.Sprintf("loopback: %s is %v in this host's /etc/hosts; oracle ≈ 0; no attempt counts", loopbackHost, addrs))

	scs := []scenario{{name: "loopback-healthy", about: "every address of localhost listens"}}
	for _, a := range addrs {
		scs[0].endpoints = append(scs[0].endpoints, endpoint{addr: a, state: listening})
	}
	var v6, v4 []endpoint
	for _, a := range addrs {
		if a.Is6() {
			v6 = append(v6, endpoint{addr: a, state: refusing})
		} else {
			v4 = append(v4, endpoint{addr: a, state: listening})
		}
	}
	if len(v6) > 0 && len(v4) > 0 {
		scs = append(scs, scenario{name: "loopback-v6-refused", about: "localhost's IPv6 addresses refuse (RST); IPv4 listens", endpoints: append(v6, v4...)})
	}

	p, err := freePort(addrs)
	if err != nil {
		return err
	}
	e := env{
		launch: func(ctx context.Context, name string, args ...string) *exec.Cmd {
			return exec.CommandContext(ctx, name, args...)
		},
		listen: func(a netip.AddrPort) (net.Listener, error) { return net.Listen("tcp", a.String()) },
		host:   loopbackHost,
		port:   p,
	}
	for si, s := range scs {
		res, err := runScenario(ctx, e, s, si, cls, o)
		if res != nil {
			r.Scenarios = append(r.Scenarios, *res)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// freePort finds a port that is free on every address, trying a few.
func freePort(addrs []netip.Addr) (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addrs[0], 0).String())
		if err != nil {
			return 0, err
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		free := true
		for _, a := range addrs {
			l, err := net.Listen("tcp", netip.AddrPortFrom(a, uint16(p)).String())
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return p, nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, errors.New("loopback: no port free on every localhost address")
}
