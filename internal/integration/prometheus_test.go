package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/dualstack-go/happyeyeballs/dialer"
)

// README recipe (Prometheus): metricsCollector, its Descs and
// promHistogram, registered with
//
//	prometheus.MustRegister(metricsCollector{&metrics})

// metricsCollector is a prometheus.Collector that reads a dialer.Metrics
// at each scrape.
type metricsCollector struct{ m *dialer.Metrics }

var (
	dialsDesc = prometheus.NewDesc("happyeyeballs_dials_total",
		"Dials made, by result.", []string{"result"}, nil)
	fallbacksDesc = prometheus.NewDesc("happyeyeballs_fallbacks_total",
		"Dials won by a family other than that of their first attempt.", nil, nil)
	ipv6ShareDesc = prometheus.NewDesc("happyeyeballs_ipv6_share",
		"Share of connections made over IPv6 (0 to 1).", nil, nil)
	dnsAnswersDesc = prometheus.NewDesc("happyeyeballs_dns_answers_total",
		"DNS answers, by family and kind (positive, negative, error).", []string{"family", "kind"}, nil)
	dnsLatencyDesc = prometheus.NewDesc("happyeyeballs_dns_latency_seconds",
		"Time from the start of a dial to each DNS answer.", []string{"family"}, nil)
	startedDesc = prometheus.NewDesc("happyeyeballs_attempts_started_total",
		"Connection attempts started.", []string{"family"}, nil)
	attemptsDesc = prometheus.NewDesc("happyeyeballs_attempts_total",
		"Connection attempts ended, by outcome (won, failed, cancelled).", []string{"family", "outcome"}, nil)
	failuresDesc = prometheus.NewDesc("happyeyeballs_attempt_failures_total",
		"Connection attempts failed, by cause.", []string{"family", "cause"}, nil)
	rejectedDesc = prometheus.NewDesc("happyeyeballs_addresses_rejected_total",
		"Addresses not tried: unusable, or rejected by the Dialer's Policy.", []string{"family"}, nil)
	connectDesc = prometheus.NewDesc("happyeyeballs_connect_seconds",
		"Time from the start of a dial to its connection, by the family that won.", []string{"family"}, nil)
)

func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dialsDesc, fallbacksDesc, ipv6ShareDesc,
		dnsAnswersDesc, dnsLatencyDesc, startedDesc, attemptsDesc, failuresDesc, rejectedDesc, connectDesc} {
		ch <- d
	}
}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Snapshot()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(dialsDesc, s.Connected, "connected")
	counter(dialsDesc, s.Failed, "failed")
	counter(fallbacksDesc, s.FellBack)
	ch <- prometheus.MustNewConstMetric(ipv6ShareDesc, prometheus.GaugeValue, s.IPv6Share)
	for fam, f := range map[string]dialer.FamilyMetrics{"ipv6": s.IPv6, "ipv4": s.IPv4} {
		counter(dnsAnswersDesc, f.DNSPositive, fam, "positive")
		counter(dnsAnswersDesc, f.DNSNegative, fam, "negative")
		counter(dnsAnswersDesc, f.DNSErrors, fam, "error")
		counter(startedDesc, f.AttemptsStarted, fam)
		counter(attemptsDesc, f.AttemptsWon, fam, "won")
		counter(attemptsDesc, f.AttemptsFailed.Total(), fam, "failed")
		counter(attemptsDesc, f.AttemptsCancelled, fam, "cancelled")
		counter(rejectedDesc, f.Rejected, fam)
		counter(failuresDesc, f.AttemptsFailed.Refused, fam, "refused")
		counter(failuresDesc, f.AttemptsFailed.Timeout, fam, "timeout")
		counter(failuresDesc, f.AttemptsFailed.Unreachable, fam, "unreachable")
		counter(failuresDesc, f.AttemptsFailed.Other, fam, "other")
		ch <- promHistogram(dnsLatencyDesc, f.DNSLatency, fam)
		ch <- promHistogram(connectDesc, f.ConnectTime, fam)
	}
}

// promHistogram converts h, whose Counts are per bucket, to Prometheus's
// cumulative buckets keyed by upper bound in seconds. The +Inf bucket is
// h.Count, which Prometheus adds itself.
func promHistogram(d *prometheus.Desc, h dialer.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var n uint64
	for i, bound := range h.Bounds {
		n += uint64(h.Counts[i])
		buckets[bound.Seconds()] = n
	}
	return prometheus.MustNewConstHistogram(d, uint64(h.Count), h.Sum.Seconds(), buckets, labels...)
}

// TestPrometheus_collector scrapes a Metrics through metricsCollector
// after two dials with ::1 black-holed, the first falling back to
// 127.0.0.1 (RFC 8305 §5), the second going there at once, and one dial
// refused.
func TestPrometheus_collector(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, "prometheus")
	startHTTP(t, tg.Port)

	var metrics dialer.Metrics
	reg := prometheus.NewRegistry()
	reg.MustRegister(metricsCollector{&metrics})
	meteredDials(t, tg, &metrics, 2)

	const want = `
# HELP happyeyeballs_dials_total Dials made, by result.
# TYPE happyeyeballs_dials_total counter
happyeyeballs_dials_total{result="connected"} 2
happyeyeballs_dials_total{result="failed"} 1
# HELP happyeyeballs_fallbacks_total Dials won by a family other than that of their first attempt.
# TYPE happyeyeballs_fallbacks_total counter
happyeyeballs_fallbacks_total 1
# HELP happyeyeballs_ipv6_share Share of connections made over IPv6 (0 to 1).
# TYPE happyeyeballs_ipv6_share gauge
happyeyeballs_ipv6_share 0
# HELP happyeyeballs_dns_answers_total DNS answers, by family and kind (positive, negative, error).
# TYPE happyeyeballs_dns_answers_total counter
happyeyeballs_dns_answers_total{family="ipv4",kind="error"} 0
happyeyeballs_dns_answers_total{family="ipv4",kind="negative"} 0
happyeyeballs_dns_answers_total{family="ipv4",kind="positive"} 2
happyeyeballs_dns_answers_total{family="ipv6",kind="error"} 0
happyeyeballs_dns_answers_total{family="ipv6",kind="negative"} 0
happyeyeballs_dns_answers_total{family="ipv6",kind="positive"} 2
# HELP happyeyeballs_attempts_started_total Connection attempts started.
# TYPE happyeyeballs_attempts_started_total counter
happyeyeballs_attempts_started_total{family="ipv4"} 3
happyeyeballs_attempts_started_total{family="ipv6"} 1
# HELP happyeyeballs_attempts_total Connection attempts ended, by outcome (won, failed, cancelled).
# TYPE happyeyeballs_attempts_total counter
happyeyeballs_attempts_total{family="ipv4",outcome="cancelled"} 0
happyeyeballs_attempts_total{family="ipv4",outcome="failed"} 1
happyeyeballs_attempts_total{family="ipv4",outcome="won"} 2
happyeyeballs_attempts_total{family="ipv6",outcome="cancelled"} 1
happyeyeballs_attempts_total{family="ipv6",outcome="failed"} 0
happyeyeballs_attempts_total{family="ipv6",outcome="won"} 0
# HELP happyeyeballs_attempt_failures_total Connection attempts failed, by cause.
# TYPE happyeyeballs_attempt_failures_total counter
happyeyeballs_attempt_failures_total{cause="other",family="ipv4"} 0
happyeyeballs_attempt_failures_total{cause="other",family="ipv6"} 0
happyeyeballs_attempt_failures_total{cause="refused",family="ipv4"} 1
happyeyeballs_attempt_failures_total{cause="refused",family="ipv6"} 0
happyeyeballs_attempt_failures_total{cause="timeout",family="ipv4"} 0
happyeyeballs_attempt_failures_total{cause="timeout",family="ipv6"} 0
happyeyeballs_attempt_failures_total{cause="unreachable",family="ipv4"} 0
happyeyeballs_attempt_failures_total{cause="unreachable",family="ipv6"} 0
# HELP happyeyeballs_addresses_rejected_total Addresses not tried: unusable, or rejected by the Dialer's Policy.
# TYPE happyeyeballs_addresses_rejected_total counter
happyeyeballs_addresses_rejected_total{family="ipv4"} 0
happyeyeballs_addresses_rejected_total{family="ipv6"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"happyeyeballs_dials_total", "happyeyeballs_fallbacks_total", "happyeyeballs_ipv6_share",
		"happyeyeballs_dns_answers_total", "happyeyeballs_attempts_started_total", "happyeyeballs_attempts_total",
		"happyeyeballs_attempt_failures_total", "happyeyeballs_addresses_rejected_total",
	); err != nil {
		t.Error(err)
	}

	// The histograms' times vary; check their counts, that the bounds are
	// in seconds and the buckets cumulative, and that the fallback took a
	// Connection Attempt Delay (RFC 8305 §5).
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	wantCount := map[string]uint64{
		`happyeyeballs_connect_seconds{family="ipv4"}`:     2,
		`happyeyeballs_connect_seconds{family="ipv6"}`:     0,
		`happyeyeballs_dns_latency_seconds{family="ipv4"}`: 2,
		`happyeyeballs_dns_latency_seconds{family="ipv6"}`: 2,
	}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h == nil {
				continue
			}
			key := mf.GetName() + `{family="` + m.GetLabel()[0].GetValue() + `"}`
			want, ok := wantCount[key]
			if !ok {
				t.Errorf("unexpected histogram %s", key)
				continue
			}
			delete(wantCount, key)
			if h.GetSampleCount() != want {
				t.Errorf("%s count = %d; want %d", key, h.GetSampleCount(), want)
			}
			if b := h.GetBucket(); len(b) == 0 || b[0].GetUpperBound() != time.Millisecond.Seconds() {
				t.Errorf("%s: want the first bucket's bound in seconds, 0.001 (1 ms)", key)
			}
			var prev uint64
			for _, b := range h.GetBucket() {
				if b.GetCumulativeCount() < prev {
					t.Errorf("%s: bucket le=%g has %d, less than the bucket before (%d)", key, b.GetUpperBound(), b.GetCumulativeCount(), prev)
				}
				prev = b.GetCumulativeCount()
			}
			if prev != h.GetSampleCount() {
				t.Errorf("%s: last finite bucket has %d of %d (the dials took well under 10 s)", key, prev, h.GetSampleCount())
			}
			if key == `happyeyeballs_connect_seconds{family="ipv4"}` && h.GetSampleSum() < firstMin.Seconds() {
				t.Errorf("%s sum = %gs; want at least the first dial's fallback (%v)", key, h.GetSampleSum(), firstMin)
			}
		}
	}
	for key := range wantCount {
		t.Errorf("missing histogram %s", key)
	}

	scrape, err := testutil.CollectAndFormat(metricsCollector{&metrics}, expfmt.TypeTextPlain,
		"happyeyeballs_connect_seconds", "happyeyeballs_fallbacks_total", "happyeyeballs_attempts_total")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scrape (part):\n%s", scrape)
}
