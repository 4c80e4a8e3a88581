package integration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// README recipe (OpenTelemetry): registerOTel, used as
//
//	reg, err := registerOTel(otel.Meter("github.com/dualstack-go/happyeyeballs"), &metrics)

// registerOTel makes observable instruments on meter whose callback reads
// metrics at each collection. It returns the callback's Registration;
// Unregister stops the reading.
//
// OpenTelemetry has no observable histogram, and a Metrics yields counts,
// not the events a synchronous Histogram records. The times to connect
// and of DNS answers are therefore exported as a count and a sum, enough
// for a mean over any window; the Prometheus collector exports the
// buckets too.
func registerOTel(meter metric.Meter, metrics *dialer.Metrics) (metric.Registration, error) {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	seconds := func(name, desc string) metric.Float64ObservableCounter {
		c, err := meter.Float64ObservableCounter(name, metric.WithUnit("s"), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	dials := counter("happyeyeballs.dials", "{dial}", "Dials made, by result.")
	fallbacks := counter("happyeyeballs.fallbacks", "{dial}", "Dials won by a family other than that of their first attempt.")
	answers := counter("happyeyeballs.dns.answers", "{answer}", "DNS answers, by family and kind (positive, negative, error).")
	started := counter("happyeyeballs.attempts.started", "{attempt}", "Connection attempts started.")
	attempts := counter("happyeyeballs.attempts", "{attempt}", "Connection attempts ended, by outcome (won, failed, cancelled).")
	failures := counter("happyeyeballs.attempt.failures", "{attempt}", "Connection attempts failed, by cause.")
	rejected := counter("happyeyeballs.addresses.rejected", "{address}", "Addresses not tried: unusable, or rejected by the Dialer's Policy.")
	connectCount := counter("happyeyeballs.connect.time.count", "{dial}", "Dials connected, by the family that won.")
	connectSum := seconds("happyeyeballs.connect.time.sum", "Total time from the start of a dial to its connection, by the family that won.")
	dnsCount := counter("happyeyeballs.dns.latency.count", "{answer}", "DNS answers timed.")
	dnsSum := seconds("happyeyeballs.dns.latency.sum", "Total time from the start of a dial to each DNS answer.")
	share, err := meter.Float64ObservableGauge("happyeyeballs.ipv6.share", metric.WithUnit("1"),
		metric.WithDescription("Share of connections made over IPv6 (0 to 1)."))
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}

	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := metrics.Snapshot()
		o.ObserveInt64(dials, s.Connected, metric.WithAttributes(attribute.String("result", "connected")))
		o.ObserveInt64(dials, s.Failed, metric.WithAttributes(attribute.String("result", "failed")))
		o.ObserveInt64(fallbacks, s.FellBack)
		o.ObserveFloat64(share, s.IPv6Share)
		for fam, f := range map[string]dialer.FamilyMetrics{"ipv6": s.IPv6, "ipv4": s.IPv4} {
			family := attribute.String("family", fam)
			observe := func(c metric.Int64ObservableCounter, v int64, key, value string) {
				o.ObserveInt64(c, v, metric.WithAttributes(family, attribute.String(key, value)))
			}
			observe(answers, f.DNSPositive, "kind", "positive")
			observe(answers, f.DNSNegative, "kind", "negative")
			observe(answers, f.DNSErrors, "kind", "error")
			o.ObserveInt64(started, f.AttemptsStarted, metric.WithAttributes(family))
			observe(attempts, f.AttemptsWon, "outcome", "won")
			observe(attempts, f.AttemptsFailed.Total(), "outcome", "failed")
			observe(attempts, f.AttemptsCancelled, "outcome", "cancelled")
			o.ObserveInt64(rejected, f.Rejected, metric.WithAttributes(family))
			observe(failures, f.AttemptsFailed.Refused, "cause", "refused")
			observe(failures, f.AttemptsFailed.Timeout, "cause", "timeout")
			observe(failures, f.AttemptsFailed.Unreachable, "cause", "unreachable")
			observe(failures, f.AttemptsFailed.Other, "cause", "other")
			o.ObserveInt64(connectCount, f.ConnectTime.Count, metric.WithAttributes(family))
			o.ObserveFloat64(connectSum, f.ConnectTime.Sum.Seconds(), metric.WithAttributes(family))
			o.ObserveInt64(dnsCount, f.DNSLatency.Count, metric.WithAttributes(family))
			o.ObserveFloat64(dnsSum, f.DNSLatency.Sum.Seconds(), metric.WithAttributes(family))
		}
		return nil
	}, dials, fallbacks, answers, started, attempts, failures, rejected, connectCount, connectSum, dnsCount, dnsSum, share)
}

// TestOTel_observable collects a Metrics through registerOTel's
// instruments with the SDK's ManualReader after two dials with ::1
// black-holed, the first falling back to 127.0.0.1 (RFC 8305 §5), the
// second going there at once, and one dial refused.
func TestOTel_observable(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "otel")
	startHTTP(t, tg.Port)

	var metrics dialer.Metrics
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { provider.Shutdown(context.Background()) })
	reg, err := registerOTel(provider.Meter("github.com/dualstack-go/happyeyeballs/dialer"), &metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	meteredDials(t, tg, &metrics, 2)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := otelPoints(t, rm)
	t.Logf("collected:\n%s", formatPoints(got))

	// The times vary: check the sums apart.
	if v := got[`happyeyeballs.connect.time.sum{family=ipv4}`]; v < firstMin.Seconds() {
		t.Errorf("connect time sum over IPv4 = %gs; want at least the first dial's fallback (%v)", v, firstMin)
	}
	if v := got[`happyeyeballs.dns.latency.sum{family=ipv4}`]; v <= 0 {
		t.Errorf("DNS latency sum over IPv4 = %gs; want > 0", v)
	}
	for _, k := range []string{"connect.time.sum{family=ipv4}", "connect.time.sum{family=ipv6}", "dns.latency.sum{family=ipv4}", "dns.latency.sum{family=ipv6}"} {
		delete(got, "happyeyeballs."+k)
	}

	want := map[string]float64{
		"happyeyeballs.dials{result=connected}": 2,
		"happyeyeballs.dials{result=failed}":    1,
		"happyeyeballs.fallbacks":               1,
		"happyeyeballs.ipv6.share":              0,

		"happyeyeballs.dns.answers{family=ipv6,kind=positive}": 2,
		"happyeyeballs.dns.answers{family=ipv6,kind=negative}": 0,
		"happyeyeballs.dns.answers{family=ipv6,kind=error}":    0,
		"happyeyeballs.dns.answers{family=ipv4,kind=positive}": 2,
		"happyeyeballs.dns.answers{family=ipv4,kind=negative}": 0,
		"happyeyeballs.dns.answers{family=ipv4,kind=error}":    0,

		"happyeyeballs.attempts.started{family=ipv6}":           1,
		"happyeyeballs.attempts{family=ipv6,outcome=won}":       0,
		"happyeyeballs.attempts{family=ipv6,outcome=failed}":    0,
		"happyeyeballs.attempts{family=ipv6,outcome=cancelled}": 1,
		"happyeyeballs.attempts.started{family=ipv4}":           3,
		"happyeyeballs.attempts{family=ipv4,outcome=won}":       2,
		"happyeyeballs.attempts{family=ipv4,outcome=failed}":    1,
		"happyeyeballs.attempts{family=ipv4,outcome=cancelled}": 0,
		"happyeyeballs.addresses.rejected{family=ipv6}":         0,
		"happyeyeballs.addresses.rejected{family=ipv4}":         0,

		"happyeyeballs.attempt.failures{cause=refused,family=ipv6}":     0,
		"happyeyeballs.attempt.failures{cause=timeout,family=ipv6}":     0,
		"happyeyeballs.attempt.failures{cause=unreachable,family=ipv6}": 0,
		"happyeyeballs.attempt.failures{cause=other,family=ipv6}":       0,
		"happyeyeballs.attempt.failures{cause=refused,family=ipv4}":     1,
		"happyeyeballs.attempt.failures{cause=timeout,family=ipv4}":     0,
		"happyeyeballs.attempt.failures{cause=unreachable,family=ipv4}": 0,
		"happyeyeballs.attempt.failures{cause=other,family=ipv4}":       0,

		"happyeyeballs.connect.time.count{family=ipv6}": 0,
		"happyeyeballs.connect.time.count{family=ipv4}": 2,
		"happyeyeballs.dns.latency.count{family=ipv6}":  2,
		"happyeyeballs.dns.latency.count{family=ipv4}":  2,
	}
	if !maps.Equal(got, want) {
		t.Errorf("collected:\n%s\nwant:\n%s", formatPoints(got), formatPoints(want))
	}
}

// otelPoints flattens rm to "name{k=v,…}" → value, checking that every
// counter is a monotonic cumulative sum.
func otelPoints(t *testing.T, rm metricdata.ResourceMetrics) map[string]float64 {
	t.Helper()
	points := make(map[string]float64)
	add := func(name string, attrs attribute.Set, v float64) {
		key := name
		if attrs.Len() > 0 {
			key += "{" + attrs.Encoded(attribute.DefaultEncoder()) + "}"
		}
		points[key] = v
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !data.IsMonotonic || data.Temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s: not a monotonic cumulative sum", m.Name)
				}
				for _, dp := range data.DataPoints {
					add(m.Name, dp.Attributes, float64(dp.Value))
				}
			case metricdata.Sum[float64]:
				if !data.IsMonotonic || data.Temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s: not a monotonic cumulative sum", m.Name)
				}
				for _, dp := range data.DataPoints {
					add(m.Name, dp.Attributes, dp.Value)
				}
			case metricdata.Gauge[float64]:
				for _, dp := range data.DataPoints {
					add(m.Name, dp.Attributes, dp.Value)
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return points
}

// formatPoints lists points one a line, sorted.
func formatPoints(points map[string]float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(points)) {
		fmt.Fprintf(&b, "  %s %g\n", k, points[k])
	}
	return b.String()
}
