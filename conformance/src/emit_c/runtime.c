/*
 * How the program runs the trace: a supervisor (the process you started)
 * sets up, forks P0 and waits. Every trace process blocks on its own token
 * pipe; the holder of token t makes step t, prints its TAP line and hands
 * token t+1 to the process of the next step, so the steps happen in trace
 * order. fork() forks the current process (the child takes the trace's
 * name for it), execve() re-executes this program (or its setuid-root
 * copy) with "--resume NAME STEP", and the pipes, kept at fixed descriptor
 * numbers, survive both. After the last step every live process checks
 * itself once more, then the supervisor reports and kills what is left.
 * A khugepaged() step (no process's call) is made by a root helper the
 * supervisor forks, token owner KPROC (see the khugepaged part).
 */
#define FD_TOKEN(p) (100 + 2 * (p)) /* read end; the write end is +1 */
#define KPROC MAX_PROCS             /* the token owner of khugepaged() steps */
#define FD_STATUS 120               /* 'F'ail 'D'one 'E'rror 'I'nconclusive 'P'rogress */
#define FD_GO 122                   /* parent -> new child; 123 writes */
#define FD_READY 124                /* new child -> parent; 125 writes */
#define FD_SHARED 126               /* memfd holding struct shared */
#define TIMEOUT_MS 10000

struct shared {
	int pid[MAX_PROCS];
	int keep_ipc_lock; /* RLIMIT_MEMLOCK could not be lifted */
	char dir[256];     /* where the two program images are */
	long kh_collapsed; /* pages khugepaged collapsed in khugepaged() steps */
};

struct token {
	int t;
	int wait_pid; /* a process that exited: wait until it is reaped */
};

static int me = -1; /* this process's name in the trace: P<me> */


static void run_token(int t);
static void exec_done(int s);
static void fork_child(int s);

static void say(const char *fmt, ...)
{
	char b[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(b) - 1)
		n = sizeof(b) - 1;
	if (write(1, b, n) < 0)
		_exit(KSFT_FAIL);
}

static void status(char c)
{
	if (write(FD_STATUS + 1, &c, 1) != 1)
		_exit(KSFT_FAIL);
}

static void shared_get(struct shared *sh)
{
	if (pread(FD_SHARED, sh, sizeof(*sh), 0) != (ssize_t)sizeof(*sh))
		_exit(KSFT_FAIL);
}

static void shared_set_pid(int p, int pid)
{
	off_t off = offsetof(struct shared, pid) + p * sizeof(int);

	if (pwrite(FD_SHARED, &pid, sizeof(pid), off) != sizeof(pid))
		_exit(KSFT_FAIL);
}

static int read_timeout(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, TIMEOUT_MS) != 1)
		return -1;
	return read(fd, buf, len);
}

/*
 * One TAP line: `what` returned `got` (NULL for a pure check), and then
 * this process's observations must be `obs`.
 */
static void tap(int n, const char *what, const char *got, const char *want,
		const struct obs *obs, int nobs)
{
	char why[1536] = "", name[48];
	struct seen s;
	int i;

	memset(&s, 0, sizeof(s));
	if (got && strcmp(got, want))
		snprintf(why, sizeof(why), " returned %s, expected %s;", got, want);
	if (nobs) {
		read_self(&s);
		if (s.odd[0])
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %s;", s.odd);
	}
	for (i = 0; i < nobs; i++) {
		struct str g = shown(&s, &obs[i]);

		if (strcmp(g.s, obs[i].want))
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 " then P%d %s = %s, expected %s;", me,
				 obs_name(&obs[i], name, sizeof(name)), g.s, obs[i].want);
	}
	if (why[0]) {
		say("not ok %d %s #%s\n", n, what, why);
		status('F');
	} else {
		say("ok %d %s\n", n, what);
	}
}

static void pass(int t, int wait_pid)
{
	struct token tok = { t, wait_pid };

	if (t == NTOKENS) {
		status('D');
		return;
	}
	if (write(FD_TOKEN(token_owner[t]) + 1, &tok, sizeof(tok)) != sizeof(tok))
		_exit(KSFT_FAIL);
}

/* Until `pid` is gone for good (exited and reaped, so its name is dead). */
MAYBE_UNUSED static void wait_gone(int pid)
{
	int i;

	for (i = 0; i < TIMEOUT_MS; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return;
		usleep(1000);
	}
	say("# P%d: pid %d did not go away\n", me, pid);
	status('F');
}

static void loop(void)
{
	struct token tok;

	for (;;) {
		if (read(FD_TOKEN(me), &tok, sizeof(tok)) != sizeof(tok))
			_exit(0);
		if (tok.wait_pid > 0)
			wait_gone(tok.wait_pid);
		run_token(tok.t);
		pass(tok.t + 1, 0);
	}
}

MAYBE_UNUSED static long ret(long r)
{
	return r < 0 ? -errno : r;
}

/* mmap(): the lowest free slot, like the trace language's `= vN`. */
MAYBE_UNUSED static long do_mmap(int prot)
{
	struct seen s;
	void *p;
	int n;

	read_self(&s);
	for (n = 0; n < NVMAS && s.mapped[n]; n++)
		;
	if (n == NVMAS)
		return -ENOMEM;
	p = mmap((void *)SLOT(n), REGION, prot,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	return n;
}

/* After a collapse: -EAGAIN is the kernel's "transient, retry", which the
 * model does not have; the run is then inconclusive (never re-issued). */
MAYBE_UNUSED static void transient(long r)
{
	if (r != -EAGAIN)
		return;
	say("# MADV_COLLAPSE returned -EAGAIN: a transient failure the model does not have\n");
	status('I');
}

/* touch(): writes every byte of [addr, addr + len) if one writable mapping
 * covers it all; -EFAULT (nothing written) where the write would fault. */
MAYBE_UNUSED static long do_touch(unsigned long addr, unsigned long len)
{
	unsigned long start, end;
	char line[512], perms[8];
	int ok = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -errno;
	while (!ok && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 &&
		    start <= addr && addr + len <= end && perms[1] == 'w')
			ok = 1;
	fclose(f);
	if (!ok)
		return -EFAULT;
	memset((void *)addr, 0x5a, len);
	return 0;
}

/* A pidfd for target P<target>, or of the caller itself for -1 (`self`:
 * every kernel since 5.10 takes that, PIDFD_SELF only 6.15+); a name
 * whose process is gone gives ESRCH from pidfd_open itself. */
MAYBE_UNUSED static int pidfd_of(int target)
{
	struct shared sh;

	if (target < 0)
		return syscall(__NR_pidfd_open, getpid(), 0);
	shared_get(&sh);
	return syscall(__NR_pidfd_open, sh.pid[target], 0);
}

MAYBE_UNUSED static long do_pmadv(int target, const unsigned long (*iov)[2], int n, int advice,
				  unsigned int flags)
{
	struct iovec v[8];
	int pidfd = pidfd_of(target), i;
	long r;

	if (pidfd == -1)
		return -errno;
	for (i = 0; i < n; i++) {
		v[i].iov_base = (void *)iov[i][0];
		v[i].iov_len = iov[i][1];
	}
	r = ret(syscall(__NR_process_madvise, pidfd, n < 0 ? NULL : v,
			n < 0 ? (size_t)-1 : (size_t)n, advice, flags));
	close(pidfd);
	return r;
}

/* setresuid(user): uid and gid 65534, no capabilities (but CAP_IPC_LOCK
 * when RLIMIT_MEMLOCK could not be lifted: every memlock check is "within
 * the limit or CAP_IPC_LOCK", so it stands in for the unlimited limit the
 * model assumes). */
MAYBE_UNUSED static long do_setresuid(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	unsigned int keep = 1u << CAP_IPC_LOCK;
	struct shared sh;
	long r;

	shared_get(&sh);
	if (sh.keep_ipc_lock && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -errno;
	if (setresgid(USER_ID, USER_ID, USER_ID))
		return -errno;
	if (geteuid() == 0 && setgroups(0, NULL))
		return -errno;
	r = ret(setresuid(USER_ID, USER_ID, USER_ID));
	if (r || !sh.keep_ipc_lock)
		return r;
	d[0].effective = d[0].permitted = d[0].inheritable = keep;
	if (syscall(SYS_capset, &h, d) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_IPC_LOCK, 0, 0))
		return -errno;
	return ret(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
}

/* fork(): the child becomes P<name> and waits for its parent's go. */
MAYBE_UNUSED static long do_fork(int s, int name)
{
	char c;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		return name;
	me = name;
	shared_set_pid(me, getpid());
	if (read_timeout(FD_GO, &c, 1) != 1)
		_exit(KSFT_FAIL);
	fork_child(s);
	if (write(FD_READY + 1, "r", 1) != 1)
		_exit(KSFT_FAIL);
	loop();
	_exit(0);
}

/* Lets the new child check itself, and waits until it has. */
MAYBE_UNUSED static void fork_release(void)
{
	char c;

	if (write(FD_GO + 1, "g", 1) != 1 || read_timeout(FD_READY, &c, 1) != 1) {
		say("# P%d: the new child did not report\n", me);
		status('F');
	}
}

/* execve(): returns only if it failed. */
MAYBE_UNUSED static long do_exec(int s, int setuid_image)
{
	char path[300], name[16], step[16];
	struct shared sh;
	char *argv[5];

	shared_get(&sh);
	snprintf(path, sizeof(path), "%s/%s", sh.dir, setuid_image ? "setuid-root" : "plain");
	snprintf(name, sizeof(name), "%d", me);
	snprintf(step, sizeof(step), "%d", s);
	argv[0] = path;
	argv[1] = "--resume";
	argv[2] = name;
	argv[3] = step;
	argv[4] = NULL;
	execv(path, argv);
	return -errno;
}

/* exit(): report, hand the token on (the next holder waits until this
 * process is reaped), and go. */
MAYBE_UNUSED static void do_exit(int s, int n, const char *what)
{
	tap(n, what, NULL, NULL, NULL, 0);
	pass(s + 1, getpid());
	_exit(0);
}
