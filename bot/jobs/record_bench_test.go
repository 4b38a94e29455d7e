package jobs

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkRecord measures the intake alone, on each store: deliveries
// recorded durably per second by 1 and by 64 concurrent senders, each
// delivery a push of a new branch (one job). Compare stores and commits as
// ratios within one run:
//
//	go test ./bot/jobs -run '^$' -bench Record -benchtime 2000x
func BenchmarkRecord(b *testing.B) {
	for _, s := range stores {
		for _, senders := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/senders=%d", s.name, senders), func(b *testing.B) {
				benchRecord(b, s.open(b), senders)
			})
		}
	}
}

func benchRecord(b *testing.B, o Options, senders int) {
	o.Concurrency = 2
	o.Handlers = Handlers{Run: func(ctx context.Context, job *Job, log *Log) (Outcome, error) {
		return Outcome{State: StateSucceeded}, nil
	}}
	q, err := New(b.Context(), o)
	if err != nil {
		b.Fatal(err)
	}
	if err := q.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer q.Stop(context.Background())
	var n atomic.Int64
	body := make([]byte, 544)
	b.ResetTimer()
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := n.Add(1)
				if i > int64(b.N) {
					return
				}
				ref := fmt.Sprintf("refs/heads/b%d", i)
				if _, err := q.Record(context.Background(), Delivery{Key: fmt.Sprintf("k%d", i), Scope: "repo.content", Action: "update",
					Repo: "acme/tiny", Body: body, Specs: []Spec{spec(ref, fmt.Sprintf("sha%d", i), "tests")}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
