// loadgen drives the commit workloads of serac's benchmark suite, the ones wrk cannot: every
// commit carries per-table state (the current snapshot id it asserts, the parent and sequence
// number of the snapshot it adds), and a refused commit (409) is retried after reloading the
// table, as Iceberg clients do.
//
//	loadgen -mode commit -base URL -tables FILE -workers 16 [-contended] -duration 10s -warmup 2s
//	loadgen -mode mix    -base URL -tables FILE -reads FILE -workers 64 -read-ratio 0.9 ...
//	loadgen -mode paced  -base URL -reads FILE -workers 64 -rate 5000 ...
//
// FILE lists one request path per line: for -tables the path of a table
// (/v1/<prefix>/namespaces/<ns>/tables/<t>), for -reads any path to GET. In commit mode each
// worker owns its own tables (worker i commits to tables i, i+workers, ...) unless -contended,
// where every worker commits to the first table. In mix mode each operation is a GET of a random
// read path with probability -read-ratio, otherwise a commit to one of the worker's own tables.
// In paced mode (open loop) the workers GET random read paths at -rate requests a second in all,
// each worker on its own schedule (worker i sends at start + (i + k*workers)/rate); a request
// whose time comes while the worker still waits for the previous answer is sent late, and its
// latency counts from the time it was due, so a server that falls behind is charged for the
// queue it causes (no coordinated omission). A request sent late only because the generator
// itself woke late (its sleep, the Go scheduler, a busy core) counts from when it was sent.
// "late_server" and "late_generator" count requests sent over 1 ms after their time, by cause.
//
// Every latency sample is kept and percentiles are taken from the sorted samples, so they are
// exact for the run (no histogram buckets). After the run every table that was committed to is
// loaded with snapshots=all and each acknowledged snapshot must be on its main branch's
// ancestry: the report's "lost" counts those that are not. One JSON object goes to stdout.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type config struct {
	mode       string
	base       string
	tables     []string
	reads      []string
	workers    int
	perWorker  int
	contended  bool
	readRatio  float64
	rate       float64
	duration   time.Duration
	warmup     time.Duration
	maxRetries int
	verify     bool
}

// tableState is what a writer knows about a table: enough to build the next append.
type tableState struct {
	FormatVersion int    `json:"format-version"`
	Location      string `json:"location"`
	CurrentSnap   *int64 `json:"current-snapshot-id"`
	LastSeq       int64  `json:"last-sequence-number"`
	SchemaID      int    `json:"current-schema-id"`
	NextRowID     *int64 `json:"next-row-id"`
}

type loadResult struct {
	Metadata tableState `json:"metadata"`
}

type fullResult struct {
	Metadata struct {
		CurrentSnap *int64 `json:"current-snapshot-id"`
		Snapshots   []struct {
			ID     int64  `json:"snapshot-id"`
			Parent *int64 `json:"parent-snapshot-id"`
		} `json:"snapshots"`
	} `json:"metadata"`
}

// classStats collects one kind of operation's samples and outcomes.
type classStats struct {
	lat       []time.Duration // per completed operation
	lateSrv   int64           // paced requests sent >1 ms late: the previous answer came late
	lateGen   int64           // paced requests sent >1 ms late: the generator woke late
	ok        int64
	non2xx    int64
	s5xx      int64
	sockErr   int64
	conflicts int64 // 409 answers to commits
	retries   int64 // commit attempts beyond the first of a completed commit
	attempts  int64 // commit POSTs sent
	reloads   int64 // table loads after a refused commit
	gaveUp    int64 // commits abandoned after -max-retries refusals or at the end of the run
}

func (s *classStats) merge(o *classStats) {
	s.lat = append(s.lat, o.lat...)
	s.ok += o.ok
	s.lateSrv += o.lateSrv
	s.lateGen += o.lateGen
	s.non2xx += o.non2xx
	s.s5xx += o.s5xx
	s.sockErr += o.sockErr
	s.conflicts += o.conflicts
	s.retries += o.retries
	s.attempts += o.attempts
	s.reloads += o.reloads
	s.gaveUp += o.gaveUp
}

type worker struct {
	id     int
	cfg    *config
	client *http.Client
	rng    *rand.Rand
	tables []string
	next   int
	state  map[string]*tableState
	acked  map[string][]int64 // table path -> snapshot ids the server acknowledged
	read   classStats
	commit classStats
	record bool
}

func main() {
	cfg := parseFlags()
	client := newClient(cfg.workers)
	workers := make([]*worker, cfg.workers)
	for i := range workers {
		w := &worker{id: i, cfg: cfg, client: client, rng: rand.New(rand.NewSource(time.Now().UnixNano() + int64(i)*7919)),
			state: map[string]*tableState{}, acked: map[string][]int64{}}
		w.tables = assignTables(cfg, i)
		workers[i] = w
	}
	if cfg.warmup > 0 {
		runPhase(workers, cfg.warmup, false)
	}
	elapsed := runPhase(workers, cfg.duration, true)
	report(cfg, workers, elapsed)
}

func parseFlags() *config {
	cfg := &config{}
	var tablesFile, readsFile string
	flag.StringVar(&cfg.mode, "mode", "commit", "commit, mix or paced")
	flag.StringVar(&cfg.base, "base", "http://127.0.0.1:8181", "server base URL")
	flag.StringVar(&tablesFile, "tables", "", "file of table paths")
	flag.StringVar(&readsFile, "reads", "", "file of paths to GET (mix mode)")
	flag.IntVar(&cfg.workers, "workers", 16, "concurrent connections, one writer each")
	flag.IntVar(&cfg.perWorker, "tables-per-worker", 0, "tables each worker cycles through (0: all it is given)")
	flag.BoolVar(&cfg.contended, "contended", false, "every worker commits to the first table")
	flag.Float64Var(&cfg.readRatio, "read-ratio", 0.9, "share of reads in mix mode")
	flag.Float64Var(&cfg.rate, "rate", 1000, "requests a second in all (paced mode)")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured run")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured run before it")
	flag.IntVar(&cfg.maxRetries, "max-retries", 1000, "refusals after which a commit is abandoned")
	flag.BoolVar(&cfg.verify, "verify", true, "check that every acknowledged commit is in its table")
	flag.Parse()
	if cfg.mode == "paced" {
		cfg.reads = readLines(readsFile)
		cfg.verify = false
		if len(cfg.reads) == 0 || cfg.workers < 1 || cfg.rate <= 0 {
			fmt.Fprintln(os.Stderr, "loadgen: paced mode needs -reads, -workers >= 1 and -rate > 0")
			os.Exit(2)
		}
		return cfg
	}
	cfg.tables = readLines(tablesFile)
	if cfg.mode == "mix" {
		cfg.reads = readLines(readsFile)
	}
	if len(cfg.tables) == 0 || (cfg.mode == "mix" && len(cfg.reads) == 0) || cfg.workers < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: need -tables (and -reads in mix mode) and -workers >= 1")
		os.Exit(2)
	}
	if !cfg.contended && len(cfg.tables) < cfg.workers {
		fmt.Fprintf(os.Stderr, "loadgen: %d tables for %d workers: each worker needs its own\n",
			len(cfg.tables), cfg.workers)
		os.Exit(2)
	}
	return cfg
}

func readLines(path string) []string {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func assignTables(cfg *config, i int) []string {
	if cfg.contended {
		return cfg.tables[:1]
	}
	var mine []string
	for j := i; j < len(cfg.tables); j += cfg.workers {
		mine = append(mine, cfg.tables[j])
		if cfg.perWorker > 0 && len(mine) == cfg.perWorker {
			break
		}
	}
	return mine
}

func newClient(conns int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true, // like wrk: no Accept-Encoding, so no server spends time on gzip
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// runPhase runs every worker until d has passed and returns the time the phase took (the last
// in-flight operation included).
func runPhase(workers []*worker, d time.Duration, record bool) time.Duration {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for _, w := range workers {
		w.record = record
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			if w.cfg.mode == "paced" {
				w.paced(start, deadline)
				return
			}
			for time.Now().Before(deadline) {
				if w.cfg.mode == "mix" && w.rng.Float64() < w.cfg.readRatio {
					w.doRead()
				} else {
					w.doCommit(deadline)
				}
			}
		}(w)
	}
	wg.Wait()
	return time.Since(start)
}

type answer struct {
	status int
	body   []byte
	err    error
}

func (w *worker) send(method, path string, body []byte) answer {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, w.cfg.base+path, rd)
	if err != nil {
		return answer{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return answer{status: resp.StatusCode, body: data, err: err}
}

// paced sends this worker's share of -rate until deadline, each request at its due time (or
// as soon as the previous answer is in, when that is later).
func (w *worker) paced(start, deadline time.Time) {
	step := time.Duration(float64(w.cfg.workers) / w.cfg.rate * float64(time.Second))
	due := start.Add(time.Duration(float64(w.id) / w.cfg.rate * float64(time.Second)))
	prevDone := start
	for ; due.Before(deadline); due = due.Add(step) {
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		t0, late := due, time.Since(due) > time.Millisecond
		if !prevDone.After(due) {
			// the connection was free when the request was due: any delay is the generator's
			t0 = time.Now()
			if late && w.record {
				w.read.lateGen++
			}
		} else if late && w.record {
			w.read.lateSrv++
		}
		w.doReadFrom(t0)
		prevDone = time.Now()
	}
}

func (w *worker) doRead() {
	w.doReadFrom(time.Now())
}

// doReadFrom GETs a random read path; the latency recorded runs from t0.
func (w *worker) doReadFrom(t0 time.Time) {
	path := w.cfg.reads[w.rng.Intn(len(w.cfg.reads))]
	a := w.send("GET", path, nil)
	d := time.Since(t0)
	if !w.record {
		return
	}
	s := &w.read
	switch {
	case a.err != nil:
		s.sockErr++
	case a.status >= 200 && a.status < 300:
		s.ok++
		s.lat = append(s.lat, d)
	default:
		s.non2xx++
		if a.status >= 500 {
			s.s5xx++
		}
	}
}

// load fetches a table's current state; nil when the server does not answer 200.
func (w *worker) load(path string) *tableState {
	a := w.send("GET", path, nil)
	if a.err != nil || a.status != 200 {
		return nil
	}
	var r loadResult
	if json.Unmarshal(a.body, &r) != nil {
		return nil
	}
	return &r.Metadata
}

// doCommit appends one snapshot to the worker's next table, retrying after reloading the table
// while the server refuses with 409. The latency recorded is the whole commit's, retries
// included; each attempt counts in attempts.
func (w *worker) doCommit(deadline time.Time) {
	path := w.tables[w.next%len(w.tables)]
	w.next++
	s := &w.commit
	st := w.state[path]
	if st == nil {
		if st = w.load(path); st == nil {
			if w.record {
				s.sockErr++
			}
			time.Sleep(time.Millisecond)
			return
		}
		w.state[path] = st
	}
	t0 := time.Now()
	for attempt := 0; ; attempt++ {
		sid := w.rng.Int63()
		a := w.send("POST", path, commitBody(st, sid))
		if w.record {
			s.attempts++
		}
		if a.err == nil && a.status == 200 {
			var r loadResult
			if json.Unmarshal(a.body, &r) == nil {
				w.state[path] = &r.Metadata
			} else {
				delete(w.state, path)
			}
			w.acked[path] = append(w.acked[path], sid)
			if w.record {
				s.ok++
				s.retries += int64(attempt)
				s.lat = append(s.lat, time.Since(t0))
			}
			return
		}
		if w.record {
			switch {
			case a.err != nil:
				s.sockErr++
			case a.status == 409:
				s.conflicts++
			default:
				s.non2xx++
				if a.status >= 500 {
					s.s5xx++
				}
			}
		}
		if a.err == nil && a.status != 409 && a.status < 500 {
			// a refusal other than a conflict will not go away by retrying
			delete(w.state, path)
			return
		}
		if attempt+1 >= w.cfg.maxRetries || time.Now().After(deadline) {
			if w.record {
				s.gaveUp++
			}
			delete(w.state, path)
			return
		}
		if w.record {
			s.reloads++
		}
		if st = w.load(path); st == nil {
			delete(w.state, path)
			return
		}
		w.state[path] = st
	}
}

// commitBody is an append as Iceberg writers send it: assert that main is still where the
// writer last saw it, add a snapshot whose parent is that one, move main to it. The manifest
// list is never read by a catalog, so it need not exist.
func commitBody(st *tableState, sid int64) []byte {
	var b bytes.Buffer
	cur := "null"
	parent := ""
	if st.CurrentSnap != nil && *st.CurrentSnap >= 0 {
		cur = strconv.FormatInt(*st.CurrentSnap, 10)
		parent = `"parent-snapshot-id":` + cur + `,`
	}
	now := time.Now().UnixMilli()
	b.WriteString(`{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":`)
	b.WriteString(cur)
	b.WriteString(`}],"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":`)
	b.WriteString(strconv.FormatInt(sid, 10))
	b.WriteString(`,`)
	b.WriteString(parent)
	fmt.Fprintf(&b, `"timestamp-ms":%d,"manifest-list":"%s/metadata/snap-%d-1-bench.avro",`, now, st.Location, sid)
	b.WriteString(`"summary":{"operation":"append","added-data-files":"1","added-records":"1"},`)
	fmt.Fprintf(&b, `"schema-id":%d`, st.SchemaID)
	if st.FormatVersion >= 2 {
		fmt.Fprintf(&b, `,"sequence-number":%d`, st.LastSeq+1)
	}
	if st.FormatVersion >= 3 {
		next := int64(0)
		if st.NextRowID != nil {
			next = *st.NextRowID
		}
		fmt.Fprintf(&b, `,"first-row-id":%d,"added-rows":1`, next)
	}
	b.WriteString(`}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":`)
	b.WriteString(strconv.FormatInt(sid, 10))
	b.WriteString(`}]}`)
	return b.Bytes()
}

type latSummary struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
	N    int     `json:"samples"`
}

func summarize(lat []time.Duration) latSummary {
	if len(lat) == 0 {
		return latSummary{}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pick := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(lat)))) - 1
		if i < 0 {
			i = 0
		}
		return float64(lat[i]) / 1e6
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return latSummary{P50: pick(0.50), P90: pick(0.90), P99: pick(0.99), P999: pick(0.999),
		Max: float64(lat[len(lat)-1]) / 1e6, Mean: float64(sum) / float64(len(lat)) / 1e6, N: len(lat)}
}

type classReport struct {
	Ops       int64      `json:"ops"`
	PerSec    float64    `json:"per_sec"`
	Latency   latSummary `json:"latency"`
	Non2xx    int64      `json:"non2xx"`
	S5xx      int64      `json:"5xx"`
	SockErr   int64      `json:"socket_errors"`
	Conflicts int64      `json:"conflicts_409,omitempty"`
	Attempts  int64      `json:"attempts,omitempty"`
	Retries   int64      `json:"retries,omitempty"`
	Reloads   int64      `json:"reloads,omitempty"`
	GaveUp    int64      `json:"gave_up,omitempty"`
	LateSrv   int64      `json:"late_server,omitempty"`
	LateGen   int64      `json:"late_generator,omitempty"`
}

func classOut(s *classStats, secs float64) classReport {
	return classReport{Ops: s.ok, PerSec: float64(s.ok) / secs, Latency: summarize(s.lat),
		Non2xx: s.non2xx, S5xx: s.s5xx, SockErr: s.sockErr, Conflicts: s.conflicts,
		Attempts: s.attempts, Retries: s.retries, Reloads: s.reloads, GaveUp: s.gaveUp, LateSrv: s.lateSrv,
		LateGen: s.lateGen}
}

type verifyReport struct {
	Tables  int   `json:"tables"`
	Acked   int   `json:"acked"`
	Lost    int   `json:"lost"`
	Extra   int   `json:"unacked_on_branch"`
	Failed  int   `json:"tables_unreadable"`
	Samples []int `json:"-"`
}

func report(cfg *config, workers []*worker, elapsed time.Duration) {
	var read, commit classStats
	acked := map[string][]int64{}
	for _, w := range workers {
		read.merge(&w.read)
		commit.merge(&w.commit)
		for p, ids := range w.acked {
			acked[p] = append(acked[p], ids...)
		}
	}
	secs := elapsed.Seconds()
	var all classStats
	all.merge(&read)
	all.merge(&commit)
	out := map[string]any{
		"mode":       cfg.mode,
		"workers":    cfg.workers,
		"contended":  cfg.contended,
		"duration_s": secs,
		"all":        classOut(&all, secs),
		"commit":     classOut(&commit, secs),
	}
	if cfg.mode == "mix" || cfg.mode == "paced" {
		out["read"] = classOut(&read, secs)
	}
	if cfg.mode == "paced" {
		out["rate"] = cfg.rate
	}
	if cfg.verify {
		out["verify"] = verify(workers[0], acked)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// verify loads every table that was committed to and checks that each acknowledged snapshot
// is an ancestor of (or is) the current snapshot of main.
func verify(w *worker, acked map[string][]int64) verifyReport {
	var v verifyReport
	for path, ids := range acked {
		v.Tables++
		v.Acked += len(ids)
		a := w.send("GET", path+"?snapshots=all", nil)
		var r fullResult
		if a.err != nil || a.status != 200 || json.Unmarshal(a.body, &r) != nil {
			v.Failed++
			v.Lost += len(ids)
			continue
		}
		parent := map[int64]*int64{}
		for _, s := range r.Metadata.Snapshots {
			parent[s.ID] = s.Parent
		}
		chain := map[int64]bool{}
		for cur := r.Metadata.CurrentSnap; cur != nil && *cur >= 0 && !chain[*cur]; {
			chain[*cur] = true
			p, ok := parent[*cur]
			if !ok {
				break
			}
			cur = p
		}
		mine := map[int64]bool{}
		for _, id := range ids {
			mine[id] = true
			if !chain[id] {
				v.Lost++
			}
		}
		// snapshots on main that nobody saw acknowledged (the seed commit is one per table)
		for id := range chain {
			if !mine[id] {
				v.Extra++
			}
		}
	}
	return v
}
