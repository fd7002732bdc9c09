/*
 * Results and observations as the trace language prints them: a return
 * value or -ERRNO, a name (v0, P1), and what this process shows of itself
 * in /proc/self/smaps (VmFlags restricted to hg nh lo lf dc wf mg ex,
 * THPeligible, and what backs each slot from Rss and AnonHugePages) and
 * /proc/self/status (THP_enabled), with prctl(PR_GET_THP_DISABLE),
 * prctl(PR_GET_MEMORY_MERGE) and prctl(PR_GET_MDWE).
 */
enum {
	OBS_VMFLAGS,
	OBS_ELIGIBLE,
	OBS_PAGES,
	OBS_THP_ENABLED,
	OBS_THP_DISABLE,
	OBS_MEMORY_MERGE,
	OBS_MDWE,
};

struct obs {
	int kind;
	int slot;
	const char *want;
};

struct str {
	char s[96];
};

static struct str fmt_ret(long r)
{
	static const struct { int e; const char *n; } names[] = {
		{ EPERM, "EPERM" }, { ESRCH, "ESRCH" }, { EINTR, "EINTR" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
		{ EINVAL, "EINVAL" }, { ENOSYS, "ENOSYS" },
	};
	struct str out;
	size_t i;

	snprintf(out.s, sizeof(out.s), "%ld", r);
	for (i = 0; r < 0 && i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == -r)
			snprintf(out.s, sizeof(out.s), "-%s", names[i].n);
	return out;
}

/* A name the call handed out (mmap: vN, fork: PN), or its error. */
MAYBE_UNUSED static struct str fmt_name(char prefix, long r)
{
	struct str out = fmt_ret(r);

	if (r >= 0)
		snprintf(out.s, sizeof(out.s), "%c%ld", prefix, r);
	return out;
}

/* What this process shows of itself: /proc/self/smaps and status. */
struct seen {
	int mapped[MAX_VMAS];
	char flags[MAX_VMAS][32];
	int eligible[MAX_VMAS];
	long rss_kb[MAX_VMAS];
	long anon_huge_kb[MAX_VMAS];
	int thp_enabled;
	/* The GET prctls' results, or -errno. */
	long thp_disable;
	long memory_merge;
	long mdwe;
	char odd[160]; /* a mapping in the slot window that is not a slot */
};

/* prctl(option, 0, 0, 0, 0): its result, or -errno. */
static long get_prctl(int option)
{
	long r = prctl(option, 0UL, 0UL, 0UL, 0UL);

	return r < 0 ? -errno : r;
}

static void read_self(struct seen *s)
{
	static const char *const mn[] = { "hg", "nh", "lo", "lf", "dc", "wf", "mg", "ex" };
	unsigned long lo = HOLE, hi = SLOT(MAX_VMAS), start, end;
	char line[512];
	int cur = -1, i;
	FILE *f;

	memset(s, 0, sizeof(*s));
	f = fopen("/proc/self/smaps", "r");
	if (!f) {
		snprintf(s->odd, sizeof(s->odd), "cannot open /proc/self/smaps");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			cur = -1;
			if (end <= lo || start >= hi)
				continue;
			for (i = 0; i < MAX_VMAS; i++)
				if (start == SLOT(i) && end == SLOT(i) + REGION)
					cur = i;
			if (cur < 0)
				snprintf(s->odd, sizeof(s->odd),
					 "mapping %lx-%lx in the slot window is not a slot",
					 start, end);
			else
				s->mapped[cur] = 1;
			continue;
		}
		if (cur < 0)
			continue;
		if (!strncmp(line, "THPeligible:", 12)) {
			s->eligible[cur] = atoi(line + 12);
		} else if (!strncmp(line, "Rss:", 4)) {
			s->rss_kb[cur] = atol(line + 4);
		} else if (!strncmp(line, "AnonHugePages:", 14)) {
			s->anon_huge_kb[cur] = atol(line + 14);
		} else if (!strncmp(line, "VmFlags:", 8)) {
			char *out = s->flags[cur];
			size_t k;

			out[0] = 0;
			for (k = 0; k < sizeof(mn) / sizeof(mn[0]); k++) {
				char want[5];

				snprintf(want, sizeof(want), " %s", mn[k]);
				if (strstr(line + 8, want)) {
					if (out[0])
						strcat(out, " ");
					strcat(out, mn[k]);
				}
			}
		}
	}
	fclose(f);
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "THP_enabled:", 12))
			s->thp_enabled = atoi(line + 12);
	if (f)
		fclose(f);
	s->thp_disable = get_prctl(PR_GET_THP_DISABLE);
	s->memory_merge = get_prctl(PR_GET_MEMORY_MERGE);
	s->mdwe = get_prctl(PR_GET_MDWE);
}

static struct str shown(const struct seen *s, const struct obs *o)
{
	struct str out;

	switch (o->kind) {
	case OBS_VMFLAGS:
		if (!s->mapped[o->slot])
			return (struct str){ "unmapped" };
		snprintf(out.s, sizeof(out.s), "[%s]", s->flags[o->slot]);
		return out;
	case OBS_ELIGIBLE:
		if (!s->mapped[o->slot])
			return (struct str){ "unmapped" };
		snprintf(out.s, sizeof(out.s), "%d", s->eligible[o->slot]);
		return out;
	case OBS_PAGES:
		/* Rss 0: none; no huge page: small; huge pages for the whole
		 * slot: huge; anything else: mixed. */
		if (!s->mapped[o->slot])
			return (struct str){ "unmapped" };
		if (s->rss_kb[o->slot] == 0)
			return (struct str){ "none" };
		if (s->anon_huge_kb[o->slot] == 0)
			return (struct str){ "small" };
		if (s->anon_huge_kb[o->slot] == (long)(REGION >> 10))
			return (struct str){ "huge" };
		return (struct str){ "mixed" };
	case OBS_THP_ENABLED:
		snprintf(out.s, sizeof(out.s), "%d", s->thp_enabled);
		return out;
	case OBS_MEMORY_MERGE:
		return fmt_ret(s->memory_merge);
	case OBS_MDWE:
		return fmt_ret(s->mdwe);
	default:
		return fmt_ret(s->thp_disable);
	}
}

static const char *obs_name(const struct obs *o, char *buf, size_t n)
{
	switch (o->kind) {
	case OBS_VMFLAGS:
		snprintf(buf, n, "vmflags(v%d)", o->slot);
		break;
	case OBS_ELIGIBLE:
		snprintf(buf, n, "thp_eligible(v%d)", o->slot);
		break;
	case OBS_PAGES:
		snprintf(buf, n, "pages(v%d)", o->slot);
		break;
	case OBS_THP_ENABLED:
		snprintf(buf, n, "thp_enabled()");
		break;
	case OBS_MEMORY_MERGE:
		snprintf(buf, n, "prctl(PR_GET_MEMORY_MERGE)");
		break;
	case OBS_MDWE:
		snprintf(buf, n, "prctl(PR_GET_MDWE)");
		break;
	default:
		snprintf(buf, n, "prctl(PR_GET_THP_DISABLE)");
	}
	return buf;
}
