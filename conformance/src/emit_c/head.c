/*
 * Headers, and the constants a 6.18 kernel defines but older C libraries
 * may not (each guarded, so the system's own definitions win).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_process_madvise
#define __NR_process_madvise 440
#endif
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#define PR_GET_THP_DISABLE 42
#endif
#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#endif
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/*
 * The trace language's layout: VMA slot vN is a 4 MiB anonymous region at
 * SLOT(N), 2 MiB-aligned, with a 4 MiB gap to the next slot; `hole` is a
 * region that is never mapped.
 */
#define SLOT_BASE 0x200000000000UL
#define SLOT_STRIDE (8UL << 20)
#define REGION (4UL << 20)
#define HOLE (SLOT_BASE - SLOT_STRIDE)
#define SLOT(n) (SLOT_BASE + (unsigned long)(n) * SLOT_STRIDE)
#define MAX_PROCS 4
#define MAX_VMAS 4
#define USER_ID 65534 /* setresuid(user) */

/* Not every trace uses every call. */
#define MAYBE_UNUSED __attribute__((unused))
