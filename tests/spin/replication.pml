/*
 * Spin model of one replicated shard (issue 16, docs/replication.md "Spin model"):
 * 3 replicas of one Raft group, bounded terms, a bounded log, a client proposing WRITES writes.
 *
 * Every step is one atomic action of the whole system (one process, d_step bodies): a node
 * starting an election, a RequestVote exchange, an AppendEntries exchange, a client write, a
 * crash, a disk wipe. Which node, which peer, which slice of the leader's log, whether the answer
 * arrives: all nondeterministic, so message loss is "the answer is not delivered / the request
 * is never sent" and duplication is "the same exchange runs again". Delayed answers need no
 * buffers (see the doc: under the guards a delayed answer counts no more than an immediate one,
 * and answers of an older term are dropped by the term check).
 *
 * Durable (survive a crash): term, vote, log. A vote and a term change are written in the same
 * step that answers, i.e. persisted before the answer leaves. Volatile (lost on a crash): role,
 * votes received, commit index, match indexes, barrier.
 *
 * Rules, each a switch for a broken variant:
 *   cap_results   (off with -DNO_CAP):      a follower's success answer claims only what the
 *                                           request verified, prev + n_entries; libraft 0.15
 *                                           sends its whole last_stored.
 *   commit rule   (off with -DNO_COMMIT_RULE): a leader commits an index by counting only if the
 *                                           entry is of its current term (Figure 8; hold_results).
 *   incarnations  (off with -DWIPE_OLD_ID): a replica whose disk is wiped comes back with a new
 *                                           identity and never votes (or counts) under its old ID.
 *   persisted vote (off with -DVOLATILE_VOTE): the vote survives a crash.
 *
 * Properties (ghost flags set when a node becomes leader):
 *   ack_in_every_later_leader: every acknowledged write is in the log of every leader elected
 *                              after the acknowledgement.
 *   one_leader_per_term:       no two elections win the same term.
 */

#ifndef MAXTERM
#define MAXTERM 4
#endif
#ifndef MAXLOG
#define MAXLOG 3
#endif
#ifndef WRITES
#define WRITES 1
#endif
#ifndef MAXWIPES
#define MAXWIPES 1
#endif

#define N 3
#define NONE 255
#define FOLLOWER 0
#define CANDIDATE 1
#define LEADER 2

typedef Log { byte t[MAXLOG + 1]; byte v[MAXLOG + 1] }   /* indexes 1..MAXLOG; t[0] = 0 */

/* durable */
byte term[N];
byte vote[N] = NONE;
byte last[N];             /* index of the last log entry */
Log lg[N];
/* volatile */
byte role[N];
byte votes[N];            /* bit j: j granted its vote in the current term */
byte commit[N];
byte barrier[N];          /* index of the leader's barrier entry, 0 = none (log whole) */
byte match[N * N];        /* match[i*N+j]: leader i's match index for j */
/* incarnations: a wiped replica is a new identity outside the group */
bool voter[N] = 1;
byte wipes;
/* client */
byte nextw = 1;           /* next write to propose, 1..WRITES; value 0 is a barrier */
/* ghosts */
byte acked;               /* bit v-1: write v acknowledged */
int ledterms;             /* bit t: some node became leader in term t */
bool ack_lost;
bool two_leaders;

ltl ack_in_every_later_leader { [] !ack_lost }
ltl one_leader_per_term { [] !two_leaders }

/* scratch variables of the d_step bodies; not part of the state (BFS, used for the shortest
   counterexamples, refuses hidden variables) */
#ifdef BFS
byte k, m, c, idx, n;
#else
hidden byte k, m, c, idx, n;
#endif

#define last_term(x) lg[x].t[last[x]]

inline clear_tail(x) {
  m = last[x] + 1;
  do
  :: m <= MAXLOG -> lg[x].t[m] = 0; lg[x].v[m] = 0; m++
  :: else -> break
  od
}

inline reset_volatile(x) {
  role[x] = FOLLOWER; votes[x] = 0; commit[x] = 0; barrier[x] = 0;
  match[x * N + 0] = 0; match[x * N + 1] = 0; match[x * N + 2] = 0
}

/* x sees term tt > term[x]: adopt it, vote cleared, back to follower */
inline adopt_term(x, tt) {
  term[x] = tt; vote[x] = NONE; reset_volatile(x)
}

inline become_leader(x) {
  /* ghost checks at the moment of election */
  if
  :: ledterms & (1 << term[x]) -> two_leaders = 1
  :: else -> ledterms = ledterms | (1 << term[x])
  fi;
  c = 1;
  do
  :: c <= WRITES ->
     if
     :: acked & (1 << (c - 1)) ->
        k = 1;
        do
        :: k <= last[x] && lg[x].v[k] != c -> k++
        :: else -> break
        od;
        if :: k > last[x] -> ack_lost = 1 :: else fi
     :: else
     fi;
     c++
  :: else -> break
  od;
  printf("MSC: n%d leads term %d\n", x, term[x]);
  role[x] = LEADER; votes[x] = 0; commit[x] = 0;
  match[x * N + 0] = 0; match[x * N + 1] = 0; match[x * N + 2] = 0;
  /* the barrier: an entry of the new term, appended at once */
  if
  :: last[x] < MAXLOG -> last[x]++; lg[x].t[last[x]] = term[x]; lg[x].v[last[x]] = 0; barrier[x] = last[x]
  :: else -> barrier[x] = 0
  fi
}

/* leader x: highest index replicated on a majority of the group's voters; acknowledge writes */
inline advance_commit(x) {
  k = last[x];
  do
  :: k > commit[x] ->
     c = 0;
     if :: voter[0] && (x == 0 && last[0] >= k || x != 0 && match[x * N + 0] >= k) -> c++ :: else fi;
     if :: voter[1] && (x == 1 && last[1] >= k || x != 1 && match[x * N + 1] >= k) -> c++ :: else fi;
     if :: voter[2] && (x == 2 && last[2] >= k || x != 2 && match[x * N + 2] >= k) -> c++ :: else fi;
#ifdef NO_COMMIT_RULE
     if :: c >= 2 -> commit[x] = k; break :: else -> k-- fi
#else
     if :: c >= 2 && lg[x].t[k] == term[x] -> commit[x] = k; break :: else -> k-- fi
#endif
  :: else -> break
  od;
  /* applied locally at once; a leader acknowledges what it has committed and applied */
  k = 1;
  do
  :: k <= commit[x] ->
     if
     :: lg[x].v[k] > 0 && !(acked & (1 << (lg[x].v[k] - 1))) ->
        printf("MSC: n%d commits %d and acknowledges w%d\n", x, k, lg[x].v[k]);
        acked = acked | (1 << (lg[x].v[k] - 1))
     :: else
     fi;
     k++
  :: else -> break
  od
}

/* election timeout: a voter that does not lead starts an election (term and vote persisted) */
inline elect(i) {
  d_step {
    voter[i] && role[i] != LEADER && term[i] < MAXTERM ->
    term[i]++; vote[i] = i; role[i] = CANDIDATE; votes[i] = 1 << i;
    printf("MSC: n%d starts an election for term %d\n", i, term[i])
  }
}

/* RequestVote i -> j and, if ans, its answer arriving at i (ans = 0: the answer is lost) */
inline request_vote(i, j, ans) {
  d_step {
    role[i] == CANDIDATE && voter[j] ->
    printf("MSC: n%d asks n%d for its vote in term %d (answer %d)\n", i, j, term[i], ans);
    if
    :: term[j] > term[i] -> if :: ans -> adopt_term(i, term[j]) :: else fi
    :: else ->
       if :: term[i] > term[j] -> adopt_term(j, term[i]) :: else fi;
       if
       :: (vote[j] == NONE || vote[j] == i) &&
          (last_term(i) > last_term(j) || last_term(i) == last_term(j) && last[i] >= last[j]) ->
          vote[j] = i;                     /* persisted with the term before the answer leaves */
          if
          :: ans ->
             votes[i] = votes[i] | (1 << j);
             c = ((votes[i] >> 0) & 1) + ((votes[i] >> 1) & 1) + ((votes[i] >> 2) & 1);
             if :: c >= 2 -> become_leader(i) :: else fi
          :: else
          fi
       :: else
       fi
    fi
  }
}

/* AppendEntries i -> j with prev index p and either no entries (whole = 0: a heartbeat) or all of
   i's entries after p (whole = 1); if ans, j's answer arrives at i */
inline append_entries(i, j, p, whole, ans) {
  d_step {
    role[i] == LEADER && voter[j] && p <= last[i] && (!whole || p < last[i]) ->
    if :: whole -> n = last[i] - p :: else -> n = 0 fi;
    printf("MSC: n%d (term %d) sends n%d AppendEntries prev %d, %d entries (answer %d)\n", i, term[i], j, p, n, ans);
    if
    :: term[j] > term[i] -> if :: ans -> adopt_term(i, term[j]) :: else fi
    :: else ->
       if
       :: term[i] > term[j] -> adopt_term(j, term[i])
       :: else -> role[j] = FOLLOWER; votes[j] = 0       /* a candidate of this term yields */
       fi;
       if
       :: p == 0 || p <= last[j] && lg[j].t[p] == lg[i].t[p] ->  /* the log-matching check */
          k = 1;
          do
          :: k <= n ->
             idx = p + k;
             if
             :: idx <= last[j] && lg[j].t[idx] == lg[i].t[idx] -> skip
             :: else ->                                  /* conflict or new: truncate, append */
                last[j] = idx; lg[j].t[idx] = lg[i].t[idx]; lg[j].v[idx] = lg[i].v[idx];
                clear_tail(j)
             fi;
             k++
          :: else -> break
          od;
#ifdef NO_CAP
          m = last[j];                                   /* libraft 0.15: its last_stored */
#else
          m = p + n;                                     /* cap_results: what was verified */
#endif
          if
          :: ans ->
             if :: m > last[i] -> m = last[i] :: else fi;  /* the leader caps at its own last */
             if :: m > match[i * N + j] -> match[i * N + j] = m :: else fi;
             advance_commit(i)
          :: else
          fi
       :: else                                           /* mismatch: rejected, leader retries */
       fi
    fi;
    idx = 0; m = 0; n = 0; k = 0; c = 0
  }
}

/* a client write, only to a leader whose barrier is applied (it serves) */
inline client_write(i) {
  d_step {
    role[i] == LEADER && barrier[i] > 0 && commit[i] >= barrier[i] && last[i] < MAXLOG &&
    nextw <= WRITES ->
    last[i]++; lg[i].t[last[i]] = term[i]; lg[i].v[last[i]] = nextw;
    printf("MSC: n%d appends write w%d at %d (term %d)\n", i, nextw, last[i], term[i]);
    nextw++
  }
}

/* crash and restart: durable state kept, volatile state lost */
inline crash(i) {
  d_step {
    role[i] != FOLLOWER || votes[i] != 0 ->
    printf("MSC: n%d crashes and restarts\n", i);
    reset_volatile(i);
#ifdef VOLATILE_VOTE
    vote[i] = NONE;
#endif
    skip
  }
}

/* the disk is wiped; the replica comes back empty */
inline wipe(i) {
  d_step {
    wipes < MAXWIPES && voter[i] ->
    printf("MSC: n%d's disk is wiped\n", i);
    wipes++; reset_volatile(i); term[i] = 0; vote[i] = NONE; last[i] = 0; clear_tail(i);
#ifndef WIPE_OLD_ID
    voter[i] = 0;           /* a new incarnation: never a voter under the old ID */
#endif
    skip
  }
}

#define RV(i, j)   :: request_vote(i, j, 1) :: request_vote(i, j, 0)
#define AEP(i, j, p) \
  :: append_entries(i, j, p, 0, 1) :: append_entries(i, j, p, 0, 0) \
  :: append_entries(i, j, p, 1, 1) :: append_entries(i, j, p, 1, 0)
#define AE(i, j)   AEP(i, j, 0) AEP(i, j, 1) AEP(i, j, 2) AEP(i, j, 3)
#define NODE(i)    :: elect(i) :: client_write(i) :: crash(i) :: wipe(i)

active proctype world() {
  do
  NODE(0) NODE(1) NODE(2)
  RV(0, 1) RV(0, 2) RV(1, 0) RV(1, 2) RV(2, 0) RV(2, 1)
  AE(0, 1) AE(0, 2) AE(1, 0) AE(1, 2) AE(2, 0) AE(2, 1)
  od
}
