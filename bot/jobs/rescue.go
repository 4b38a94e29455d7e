package jobs

import (
	"context"
	"fmt"
	"time"
)

// With several replicas, a job whose replica died must run elsewhere, and a
// job whose replica is alive must not. River's own rescuer only knows how
// long a job has been running, and it runs on the leader every 30 seconds;
// the job's lease knows whether its replica is alive (it renews the lease,
// see keepLease). So each replica looks, every half lease, for running jobs
// whose lease expired, and hands their River jobs back to the queue; the
// lease then goes to whichever replica starts the job (see lockTx).

// runRescuer rescues dead replicas' jobs until ctx is done.
func (q *Queue) runRescuer(ctx context.Context) {
	t := time.NewTicker(q.leaseTTL() / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := q.rescueOrphans(ctx); err != nil {
			q.log.Warn("rescue jobs of dead replicas", "error", err)
		} else if n > 0 {
			q.log.Info("took up jobs of a replica that stopped answering", "count", n)
		}
	}
}

// rescueOrphans makes the River jobs of running jobs without a live lease
// available again, and returns how many.
func (q *Queue) rescueOrphans(ctx context.Context) (int64, error) {
	var riverIDs []int64
	rs, err := q.db.query(ctx, `SELECT j.river_id FROM hubbot_jobs j
		LEFT JOIN hubbot_locks l ON l.key = CASE WHEN j.kind = $1 THEN 'ref:' || j.repo || ':' || j.ref ELSE 'job:' || j.id END
		WHERE j.state = $2 AND (l.key IS NULL OR l.expires_at < $3 OR l.job_id <> j.id)`,
		string(KindRun), string(StateRunning), q.now().UnixMilli())
	err = scanAll(rs, err, func(r rows) error {
		var id int64
		err := r.Scan(&id)
		riverIDs = append(riverIDs, id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("find orphaned jobs: %w", err)
	}
	var total int64
	for _, id := range riverIDs {
		n, err := q.db.exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1 AND state = 'running'`, id)
		if err != nil {
			return total, fmt.Errorf("hand job back to the queue: %w", err)
		}
		total += n
	}
	return total, nil
}
