package app_test

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/server/config"
)

// fairRoutes: route A, rate limited, and route B, not, on one listener.
const fairRoutes = `
[[route]]
name = "a"
match = { PATH_INFO = "/a" }
module = "named.wasm"
timeout = "60s"
rate_limit = 50
rate_burst = 5

[[route]]
name = "b"
match = { PATH_INFO = "/b" }
module = "named.wasm"
timeout = "60s"
`

// TestFloodedRouteLeavesOthersServed: route A is flooded by 8 clients
// sending 300 requests each as fast as they can, over its rate_limit;
// meanwhile one client of route B sends requests one after another. Every
// request to B succeeds and A refuses some with 429. B's latency during
// the flood and without it is logged, not asserted.
func TestFloodedRouteLeavesOthersServed(t *testing.T) {
	const (
		flooders = 8
		each     = 300
	)
	base, _ := start(t, config.EngineWazero, fairRoutes, "named")
	floodClient := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: flooders}}
	bClient := &http.Client{Timeout: time.Minute, Transport: &http.Transport{}}
	t.Cleanup(floodClient.CloseIdleConnections)
	t.Cleanup(bClient.CloseIdleConnections)

	get := func(c *http.Client, url string) (int, time.Duration, error) {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			return 0, 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start), err
	}
	// B on its own first: the baseline.
	var quiet []time.Duration
	for range 200 {
		status, d, err := get(bClient, base+"/b")
		if err != nil || status != 200 {
			t.Fatalf("GET /b without a flood: %d %v", status, err)
		}
		quiet = append(quiet, d)
	}

	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		errs     []error
		wg       sync.WaitGroup
	)
	flooding := make(chan struct{})
	for range flooders {
		wg.Go(func() {
			<-flooding
			for range each {
				status, _, err := get(floodClient, base+"/a")
				mu.Lock()
				statuses[status]++
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	floodDone := make(chan struct{})
	go func() { wg.Wait(); close(floodDone) }()
	close(flooding)

	var during []time.Duration
	bFailed := 0
	for done := false; !done; {
		select {
		case <-floodDone:
			done = true
		default:
		}
		status, d, err := get(bClient, base+"/b")
		if err != nil || status != 200 {
			bFailed++
			t.Errorf("GET /b during the flood: %d %v", status, err)
			continue
		}
		during = append(during, d)
	}
	<-floodDone
	if len(errs) > 0 {
		t.Fatalf("%d of A's requests failed without a response, first: %v", len(errs), errs[0])
	}
	if statuses[429] == 0 {
		t.Fatalf("route A answered %v to %d requests over its rate_limit: want some 429", statuses, flooders*each)
	}
	if statuses[200]+statuses[429] != flooders*each {
		t.Errorf("route A answered %v, want only 200 and 429", statuses)
	}
	t.Logf("route A flooded: %d requests, %d served, %d refused with 429", flooders*each, statuses[200], statuses[429])
	t.Logf("route B alone:          %d requests, p50 %v, p99 %v", len(quiet), percentile(quiet, 50), percentile(quiet, 99))
	t.Logf("route B during A flood: %d requests, p50 %v, p99 %v (%d failed)", len(during), percentile(during, 50), percentile(during, 99), bFailed)
}

// percentile is the p-th percentile of ds (nearest rank); 0 for none.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}
