package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/riverqueue/river"
)

// River job kinds and queues.
const (
	queueRun     = river.QueueDefault
	queueReports = "reports" // quick Hub writes, never stuck behind long runs
)

// ErrDraining is returned by Record once the queue stops accepting work.
var ErrDraining = errors.New("hubbot is shutting down")

// ErrNotFound is returned for a job (or other record) that does not exist.
var ErrNotFound = errors.New("not found")

// Options configure a Queue.
type Options struct {
	DataDir     string
	DatabaseURL string // postgres://..., for several replicas; empty for embedded SQLite
	Concurrency int
	// RescueAfter bounds how long a job of a replica that died stays
	// unclaimed before another replica runs it (Postgres only: the embedded
	// store takes such jobs up at the next start). One minute by default.
	RescueAfter time.Duration
	// Retention is how long deliveries and job logs are kept; 30 days by
	// default. See sweep.
	Retention time.Duration
	// SweepEvery is how often the retention sweep runs; hourly by default.
	SweepEvery time.Duration
	// Recover, when set, runs every RecoverEvery (and when a replica
	// becomes River's elected leader) on the leader only. The bot passes
	// workers.recovery_interval; hourly by default, as there.
	Recover      func(ctx context.Context) error
	RecoverEvery time.Duration
	Logger       *slog.Logger
	// Handlers run the jobs; see Handlers.
	Handlers Handlers
	// Periodic are River periodic jobs (schedules), fired once across replicas.
	Periodic []*river.PeriodicJob
	// Observe is called on every job state change, for metrics. It must not
	// block.
	Observe func(action, from, to string)
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

// Handlers do the work of each job kind. They are set by the bot, which
// knows the Hub, the workspaces and the actions.
type Handlers struct {
	Run     func(ctx context.Context, job *Job, log *Log) (Outcome, error)
	Report  func(ctx context.Context, job *Job) error // show a queued job's state on the Hub
	Command func(ctx context.Context, job *Job, log *Log) (Outcome, error)
	Reply   func(ctx context.Context, job *Job, log *Log) (Outcome, error)
	// Schedule returns the runs a schedule asks for now (the current head
	// of each repo it covers).
	Schedule func(ctx context.Context, action string, repos []string) ([]Spec, error)
}

// Outcome is how a job ended.
type Outcome struct {
	State       State // a terminal state
	Conclusion  string
	Summary     string
	Details     string
	Fingerprint string
}

// Queue records deliveries and runs jobs.
type Queue struct {
	b     *backend
	db    database
	wal   *walSyncer // SQLite only
	river riverClient
	opts  Options
	log   *slog.Logger
	now   func() time.Time

	stopRescuer context.CancelFunc // set on Postgres

	intake   chan *recordReq
	stopOnce sync.Once
	draining chan struct{}
	intakeWG sync.WaitGroup

	botCommits sync.Map // "repo@sha" of commits the bot made

	runningMu sync.Mutex
	running   map[int64]*Log               // logs of jobs running in this process, by job id
	cancels   map[int64]context.CancelFunc // their contexts, by River job id
	shutdown  chan struct{}                // closed when running jobs are being cancelled for shutdown
}

// New opens the store, runs migrations and prepares River. Call Start to
// begin working.
func New(ctx context.Context, opts Options) (*Queue, error) {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RescueAfter <= 0 {
		opts.RescueAfter = time.Minute
	}
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = time.Hour
	}
	if opts.RecoverEvery <= 0 {
		opts.RecoverEvery = time.Hour
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := openBackend(ctx, opts.DataDir, opts.DatabaseURL, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	if err := b.migrate(ctx); err != nil {
		b.db.close()
		return nil, err
	}
	if sq, ok := b.db.(*sqlDB); ok {
		if err := sq.prepare(ctx, recentDelivery, insertDelivery, recentJob, insertJob, liveJobsOfRef); err != nil {
			b.db.close()
			return nil, err
		}
	}
	q := &Queue{b: b, db: b.db, opts: opts, log: log, now: opts.Now,
		intake: make(chan *recordReq, 1024), draining: make(chan struct{}),
		running: map[int64]*Log{}, cancels: map[int64]context.CancelFunc{}, shutdown: make(chan struct{})}
	if !b.postgres() {
		q.wal = &walSyncer{path: filepath.Join(opts.DataDir, "hubbot.db-wal")}
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &runWorker{q: q})
	river.AddWorker(workers, &reportWorker{q: q})
	river.AddWorker(workers, &scheduleWorker{q: q})
	river.AddWorker(workers, &maintainWorker{q: q})
	client, err := b.newRiver(&river.Config{
		ID: clientID(opts.Now()),
		Queues: map[string]river.QueueConfig{
			queueRun:     {MaxWorkers: opts.Concurrency},
			queueReports: {MaxWorkers: 2},
		},
		Workers:           workers,
		PeriodicJobs:      append(q.maintenanceJobs(), opts.Periodic...),
		FetchCooldown:     50 * time.Millisecond, // fetch at once when idle, at most 20 times a second under load
		FetchPollInterval: 200 * time.Millisecond,
		JobTimeout:        -1,          // each job has its own timeout, set by the handler
		MaxAttempts:       MaxAttempts, // the bot reports the last failure itself (see MaxAttempts)
		Logger:            log.With("component", "river"),
		// Jobs of a process that died are taken up at start-up in the
		// embedded store, where there is one process (see rescue), and by
		// the other replicas once their lease expires on Postgres (see
		// runRescuer). River's rescuer, which cannot tell a long job from a
		// dead one, is a last resort.
		RescueStuckJobsAfter: 24 * time.Hour,
	})
	if err != nil {
		b.db.close()
		return nil, fmt.Errorf("river: %w", err)
	}
	q.river = client
	return q, nil
}

// Start rescues jobs a crashed process left running, then starts the intake
// and the workers.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.loadBotCommits(ctx); err != nil {
		return err
	}
	if !q.b.postgres() {
		if err := q.rescue(ctx); err != nil {
			return err
		}
	}
	q.intakeWG.Add(1)
	go q.runIntake()
	if q.b.postgres() {
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		q.stopRescuer = cancel
		go q.runRescuer(rctx)
	}
	if err := q.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	q.log.Info("workers started", "river_client", q.river.ID())
	return nil
}

// clientID names this process in River's tables (the elected leader, who
// attempted a job) and in the leases it holds: the host, the start time
// and the process id, so that an operator can tell replicas apart even on
// one host.
func clientID(now time.Time) string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, host)
	if host == "" {
		host = "unknown_host"
	}
	if len(host) > 50 {
		host = host[:50]
	}
	return fmt.Sprintf("%s_%s_pid%d", host, now.UTC().Format("2006_01_02T15_04_05_000000"), os.Getpid())
}

// rescue makes jobs that were running when the process died available again
// at once: with the embedded database there is one process, so nothing else
// can be running them, and waiting for River's stuck-job rescuer would delay
// them by a day.
func (q *Queue) rescue(ctx context.Context) error {
	n, err := q.db.exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec')
		WHERE state = 'running'`)
	if err != nil {
		return fmt.Errorf("rescue running jobs: %w", err)
	}
	if n > 0 {
		q.log.Info("taking up jobs a previous process left running", "count", n)
	}
	if _, err := q.db.exec(ctx, `UPDATE hubbot_jobs SET state = $1 WHERE state = $2`, string(StateQueued), string(StateRunning)); err != nil {
		return fmt.Errorf("rescue running jobs: %w", err)
	}
	if _, err = q.db.exec(ctx, `DELETE FROM hubbot_locks`); err != nil {
		return fmt.Errorf("rescue running jobs: %w", err)
	}
	return nil
}

// StopIntake stops accepting deliveries: Record returns ErrDraining.
func (q *Queue) StopIntake() {
	q.stopOnce.Do(func() { close(q.draining) })
	q.intakeWG.Wait()
}

// Stop stops the workers: running jobs get until ctx is done to finish,
// then they are cancelled and left to run again after the next start.
func (q *Queue) Stop(ctx context.Context) error {
	q.StopIntake()
	if q.stopRescuer != nil {
		q.stopRescuer()
	}
	done := make(chan error, 1)
	go func() { done <- q.river.Stop(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		close(q.shutdown)
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = q.river.StopAndCancel(cctx)
	}
	if cerr := q.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close releases the database without waiting for anything; for tests that
// simulate a crash, and for a start that failed.
func (q *Queue) Close() error {
	if q.stopRescuer != nil {
		q.stopRescuer()
	}
	if q.wal != nil {
		q.wal.close()
	}
	if err := q.db.close(); err != nil {
		return fmt.Errorf("close the store: %w", err)
	}
	return nil
}

// recordReq is one delivery waiting for the intake's next transaction.
type recordReq struct {
	d    Delivery
	resp chan recordResp
}

type recordResp struct {
	rec Recorded
	err error
}

// Record stores a delivery and its jobs durably, deduplicating replays, and
// returns once the transaction is committed. Concurrent deliveries share
// transactions (group commit), so durable enqueueing keeps up with bursts.
func (q *Queue) Record(ctx context.Context, d Delivery) (Recorded, error) {
	req := &recordReq{d: d, resp: make(chan recordResp, 1)}
	select {
	case <-q.draining:
		return Recorded{}, ErrDraining
	default:
	}
	select {
	case q.intake <- req:
	case <-q.draining:
		return Recorded{}, ErrDraining
	case <-ctx.Done():
		return Recorded{}, ctx.Err()
	}
	select {
	case r := <-req.resp:
		return r.rec, r.err
	case <-ctx.Done():
		// The transaction may still commit; the Hub sees an error either way.
		return Recorded{}, ctx.Err()
	}
}

// runIntake commits deliveries in batches: it takes whatever is waiting, up
// to a limit, and writes it in one transaction.
func (q *Queue) runIntake() {
	defer q.intakeWG.Done()
	const maxBatch = 256
	for {
		var batch []*recordReq
		select {
		case r := <-q.intake:
			batch = append(batch, r)
		case <-q.draining:
			// Answer what is already waiting, then stop.
			for {
				select {
				case r := <-q.intake:
					q.commitBatch([]*recordReq{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-q.intake:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		q.commitBatch(batch)
	}
}

func (q *Queue) commitBatch(batch []*recordReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	results, err := q.recordTx(ctx, batch)
	for i, r := range batch {
		if err != nil {
			r.resp <- recordResp{err: err}
			continue
		}
		r.resp <- recordResp{rec: results[i]}
	}
}

// recordTx writes a batch of deliveries in one transaction, and makes it
// durable before anyone is answered. Each step is one statement for the
// whole batch on Postgres (see bulk.go).
func (q *Queue) recordTx(ctx context.Context, batch []*recordReq) ([]Recorded, error) {
	var keys []string
	for _, r := range batch {
		keys = append(keys, "delivery:"+r.d.Key)
		keys = append(keys, intakeKeys(r.d.Specs)...)
	}
	tx, err := q.beginIntake(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("record delivery: %w", err)
	}
	defer tx.rollback(ctx)
	now := q.now()
	var lookup []string
	for _, r := range batch {
		if r.d.Ignored == "" {
			lookup = append(lookup, r.d.Key)
		}
	}
	recent, err := q.recentDeliveries(ctx, tx, lookup, now)
	if err != nil {
		return nil, err
	}
	results := make([]Recorded, len(batch))
	var origins []string
	var specs []Spec
	var owners []int // the delivery of each spec
	seen := map[string]bool{}
	for i, r := range batch {
		d := r.d
		switch {
		case d.Ignored != "":
			results[i] = Recorded{Outcome: OutcomeIgnored, Reason: d.Ignored}
		case seen[d.Key] || recent[d.Key]:
			results[i] = Recorded{Outcome: OutcomeDuplicate}
		default:
			seen[d.Key] = true
			results[i] = Recorded{Outcome: OutcomeQueued}
			for _, s := range d.Specs {
				origins, specs, owners = append(origins, d.Key), append(specs, s), append(owners, i)
			}
		}
	}
	var jb jobBatch
	ids, err := q.enqueueTx(ctx, tx, &jb, origins, specs, now, true)
	if err != nil {
		return nil, err
	}
	for k, id := range ids {
		if id != 0 {
			results[owners[k]].Jobs = append(results[owners[k]].Jobs, id)
		}
	}
	rows := make([]deliveryRow, len(batch))
	for i, r := range batch {
		res := &results[i]
		if res.Outcome == OutcomeQueued && len(res.Jobs) == 0 {
			res.Outcome, res.Reason = OutcomeIgnored, "every job it asks for was already queued"
		}
		body := string(r.d.Body)
		if len(body) > 256<<10 {
			body = body[:256<<10]
		}
		rows[i] = deliveryRow{key: r.d.Key, scope: r.d.Scope, action: r.d.Action, repo: r.d.Repo,
			outcome: res.Outcome, reason: res.Reason, body: storableText(body)}
	}
	if err := q.insertDeliveries(ctx, tx, rows, now); err != nil {
		return nil, err
	}
	if err := q.flushJobs(ctx, tx, &jb); err != nil {
		return nil, err
	}
	if err := tx.commit(ctx); err != nil {
		return nil, fmt.Errorf("record delivery: %w", err)
	}
	if q.wal != nil {
		if err := q.wal.sync(); err != nil {
			return nil, fmt.Errorf("record delivery: %w", err)
		}
	}
	q.cancelRiverJobs(jb.cancelRunning)
	return results, nil
}

// dedupeWindow is how long a delivery key or job key counts as seen.
const dedupeWindow = 24 * time.Hour

// beginIntake begins a transaction that creates jobs. Delivery and job
// dedupe, and supersede, read before they write, which is only safe when no
// other replica writes the same keys in between: on Postgres the
// transaction first takes a lock on each key it may write (see
// intakeKeys), in one order for every replica, so that two transactions
// never wait for each other's locks.
func (q *Queue) beginIntake(ctx context.Context, keys []string) (txn, error) {
	tx, err := q.db.begin(ctx)
	if err != nil {
		return nil, err
	}
	if q.b.postgres() && len(keys) > 0 {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(h) FROM
			(SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS ordered`, keys); err != nil {
			tx.rollback(ctx)
			return nil, fmt.Errorf("take the intake locks: %w", err)
		}
	}
	return tx, nil
}

// intakeKeys are the keys creating jobs for specs may write: their dedupe
// keys, and the refs whose older work they supersede.
func intakeKeys(specs []Spec) []string {
	var keys []string
	for _, s := range specs {
		keys = append(keys, "job:"+s.DedupeKey())
		if s.Kind == KindRun {
			keys = append(keys, "ref:"+s.Repo.String()+":"+s.Ref+":"+s.Action)
		}
	}
	return keys
}

// Enqueue creates jobs outside of a delivery (schedules, recovery, commands,
// retries). Work already queued in the last day is not queued again.
func (q *Queue) Enqueue(ctx context.Context, origin string, specs []Spec) ([]int64, error) {
	return q.enqueue(ctx, origin, specs, true)
}

// enqueue creates jobs in their own transaction.
func (q *Queue) enqueue(ctx context.Context, origin string, specs []Spec, dedupe bool) ([]int64, error) {
	tx, err := q.beginIntake(ctx, intakeKeys(specs))
	if err != nil {
		return nil, fmt.Errorf("enqueue jobs: %w", err)
	}
	defer tx.rollback(ctx)
	var jb jobBatch
	origins := make([]string, len(specs))
	for i := range origins {
		origins[i] = origin
	}
	all, err := q.enqueueTx(ctx, tx, &jb, origins, specs, q.now(), dedupe)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, id := range all {
		if id != 0 {
			ids = append(ids, id)
		}
	}
	if err := q.flushJobs(ctx, tx, &jb); err != nil {
		return nil, err
	}
	if err := tx.commit(ctx); err != nil {
		return nil, fmt.Errorf("enqueue jobs: %w", err)
	}
	q.cancelRiverJobs(jb.cancelRunning)
	return ids, nil
}

// jobBatch gathers the River jobs of one transaction, so that they are
// inserted with one call at its end.
type jobBatch struct {
	params        []river.InsertManyParams
	jobIDs        []int64 // the hubbot job of each params entry; 0 for report jobs
	cancelRunning []int64 // River jobs to cancel once committed
}

// flushJobs inserts the batch's River jobs and records their ids.
func (q *Queue) flushJobs(ctx context.Context, tx txn, jb *jobBatch) error {
	if len(jb.params) == 0 {
		return nil
	}
	res, err := q.river.insertManyTx(ctx, tx, jb.params)
	if err != nil {
		return fmt.Errorf("enqueue jobs: %w", err)
	}
	if len(res) != len(jb.params) {
		return fmt.Errorf("enqueue jobs: River inserted %d of %d", len(res), len(jb.params))
	}
	// One statement sets every river_id: from arrays on Postgres, whose
	// statement text (prepared once per connection) is then the same for
	// every batch; UPDATE ... SET river_id = CASE id ... END on SQLite.
	if q.b.postgres() {
		var ids, riverIDs []int64
		for i, id := range jb.jobIDs {
			if id != 0 {
				ids, riverIDs = append(ids, id), append(riverIDs, res[i].Job.ID)
			}
		}
		if _, err := tx.exec(ctx, `UPDATE hubbot_jobs AS j SET river_id = u.river_id
			FROM unnest($1::bigint[], $2::bigint[]) AS u(id, river_id) WHERE j.id = u.id`, ids, riverIDs); err != nil {
			return fmt.Errorf("record River ids: %w", err)
		}
		return nil
	}
	var b strings.Builder
	var args []any
	b.WriteString("UPDATE hubbot_jobs SET river_id = CASE id")
	var ids []string
	for i, id := range jb.jobIDs {
		if id == 0 {
			continue
		}
		args = append(args, id, res[i].Job.ID)
		fmt.Fprintf(&b, " WHEN $%d THEN $%d", len(args)-1, len(args))
		ids = append(ids, fmt.Sprintf("$%d", len(args)-1))
	}
	b.WriteString(" ELSE river_id END WHERE id IN (" + strings.Join(ids, ", ") + ")")
	if _, err := tx.exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("record River ids: %w", err)
	}
	return nil
}

// enqueueTx inserts jobs in tx, adds their River jobs to jb, and supersedes
// older work for the same ref and action. origins[i] is what asked for
// specs[i] (a delivery key, "recovery", ...). It returns the id of each
// spec's new job, or 0 where dedupe found the same work queued in the last
// day (or earlier in specs).
func (q *Queue) enqueueTx(ctx context.Context, tx txn, jb *jobBatch, origins []string, specs []Spec, now time.Time, dedupe bool) ([]int64, error) {
	ids := make([]int64, len(specs))
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = s.DedupeKey()
	}
	recent := map[string]bool{}
	if dedupe {
		var err error
		if recent, err = q.recentJobs(ctx, tx, keys, now); err != nil {
			return nil, err
		}
	}
	var js []newJob
	var at []int // the position in specs of each of js
	for i, s := range specs {
		if dedupe {
			if recent[keys[i]] {
				continue
			}
			recent[keys[i]] = true // asked for twice in one batch: once
		}
		specJSON, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("encode job: %w", err)
		}
		js = append(js, newJob{origin: origins[i], key: keys[i], spec: string(specJSON), s: s})
		at = append(at, i)
	}
	newIDs, err := q.insertJobs(ctx, tx, js, now)
	if err != nil {
		return nil, err
	}
	for k, id := range newIDs {
		ids[at[k]] = id
		q.observe(js[k].s.Action, "", StateQueued)
	}
	skipped, err := q.supersedeTx(ctx, tx, jb, js, newIDs)
	if err != nil {
		return nil, err
	}
	for k, j := range js {
		if skipped[newIDs[k]] {
			continue // superseded in this same batch: it never runs
		}
		jb.params = append(jb.params, river.InsertManyParams{Args: runArgs{JobID: newIDs[k]}, InsertOpts: &river.InsertOpts{Queue: queueRun}})
		jb.jobIDs = append(jb.jobIDs, newIDs[k])
		if j.s.Kind == KindRun && prNum(j.s) > 0 {
			// Show "queued" on the pull request at once.
			jb.params = append(jb.params, river.InsertManyParams{Args: reportArgs{JobID: newIDs[k]}, InsertOpts: &river.InsertOpts{Queue: queueReports}})
			jb.jobIDs = append(jb.jobIDs, 0)
		}
	}
	return ids, nil
}

// supersedeTx lets each new run job (js, inserted as ids) supersede the
// queued or running jobs of its repo, ref and action with a smaller id,
// earlier ones of the same batch included, except those of the same
// revision. Queued ones are skipped at once (their ids are returned);
// running ones are added to jb.cancelRunning, to be cancelled once
// committed.
func (q *Queue) supersedeTx(ctx context.Context, tx txn, jb *jobBatch, js []newJob, ids []int64) (map[int64]bool, error) {
	var refs []refKey
	seen := map[refKey]bool{}
	for _, j := range js {
		if k := (refKey{j.s.Repo.String(), j.s.Ref, j.s.Action}); j.s.Kind == KindRun && !seen[k] {
			seen[k] = true
			refs = append(refs, k)
		}
	}
	live, err := q.liveJobs(ctx, tx, refs)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(live, func(a, b liveJob) int { return cmp.Compare(a.id, b.id) })
	type verdict struct {
		by    int64  // the job superseding it
		bySHA string // that job's revision
	}
	verdicts := make([]verdict, len(live))
	for k, j := range js {
		if j.s.Kind != KindRun {
			continue
		}
		ref := refKey{j.s.Repo.String(), j.s.Ref, j.s.Action}
		for i, o := range live {
			if o.ref != ref || o.id >= ids[k] || o.sha == j.s.SHA {
				continue // another ref, newer, or the same revision again (a command re-run)
			}
			if o.state == StateQueued && verdicts[i].by != 0 {
				continue // already skipped
			}
			verdicts[i] = verdict{ids[k], j.s.SHA}
		}
	}
	skipped := map[int64]bool{}
	for i, o := range live {
		v := verdicts[i]
		if v.by == 0 {
			continue
		}
		if o.state == StateRunning {
			if _, err := tx.exec(ctx, `UPDATE hubbot_jobs SET superseded_by = $1 WHERE id = $2`, v.by, o.id); err != nil {
				return nil, fmt.Errorf("supersede job %d: %w", o.id, err)
			}
			jb.cancelRunning = append(jb.cancelRunning, o.riverID)
			continue
		}
		if _, err := tx.exec(ctx, `UPDATE hubbot_jobs SET state = $1, superseded_by = $2, conclusion = $3, summary = $4, finished_at = $5 WHERE id = $6`,
			string(StateSkipped), v.by, "superseded", fmt.Sprintf("superseded by %s", shortSHA(v.bySHA)), q.now().UnixMilli(), o.id); err != nil {
			return nil, fmt.Errorf("supersede job %d: %w", o.id, err)
		}
		q.observe(o.ref.action, StateQueued, StateSkipped)
		skipped[o.id] = true
		if o.riverID != 0 {
			if err := q.river.jobCancelTx(ctx, tx, o.riverID); err != nil {
				return nil, fmt.Errorf("cancel superseded job: %w", err)
			}
		}
	}
	return skipped, nil
}

// cancelRiverJobs asks River to cancel running jobs; their handler sees its
// context cancelled and records why.
func (q *Queue) cancelRiverJobs(ids []int64) {
	for _, id := range ids {
		// Cancel the local context first: River's notification may take a poll.
		q.cancelLocal(id)
		if _, err := q.river.JobCancel(context.Background(), id); err != nil && !errors.Is(err, river.ErrNotFound) {
			q.log.Warn("cancel superseded job", "river_id", id, "error", err)
		}
	}
}

// storableText makes s storable as TEXT in both stores: Postgres refuses
// NUL bytes and invalid UTF-8, which command output and cut payloads may
// carry.
func storableText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func (q *Queue) observe(action string, from, to State) {
	if q.opts.Observe != nil {
		q.opts.Observe(action, string(from), string(to))
	}
}
