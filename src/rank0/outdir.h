/* SPDX-License-Identifier: MIT */
/* A job's output directory SPOOL/out/JOBID/: made by rank 0 in its own out/,
 * handed to the job's owner, every file in it made as the owner. */
#ifndef MPISPOOL_OUTDIR_H
#define MPISPOOL_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asuser.h"
#include "error.h"
#include "record.h"

/* A line of records.jsonl longer than this is not one rank 0 wrote: it
 * ends what is read of the file. */
#define OUTDIR_MAX_LINE RECORD_MAX_LINE

struct outdir;
struct job_report;

/* Make out/ID beneath outfd (rank 0's out/, named out_path in messages)
 * for a job whose tasks run as who, and open its records.jsonl for
 * appending: new and empty, or with adopt (a job taken over after a
 * crash) as it was. With who->switch_ids the directory is handed to the
 * owner (uid, gid; mode 0777 & ~who->umask, at least 0700) and every file
 * in it is created as the owner, mode 0666 & ~who->umask (at least 0600):
 * they are the owner's, and follow the umask they submitted with. Without
 * (a job of this process's own user, or a rank 0 that is not root), or
 * when this process cannot act as the owner (no CAP_SETUID: the job's
 * tasks will fail to start for the same reason), the directory stays this
 * process's, 0755, and its files 0644: outdir_as_owner says which. An
 * existing out/ID (a job claimed again, or taken over) is used again as
 * it is; one of another user than the owner or this process is refused.
 * Returns NULL with err and errno set (errno: the failed call's, for
 * asuser_transient). */
struct outdir *outdir_open(int outfd, const char *out_path, const char *id,
                           const struct asuser_id *who, bool adopt,
                           struct mps_error *err);
void outdir_close(struct outdir *od);

/* Remove the output directory of a job that never started (it goes back
 * to new/, and its id must look unused to the next claim): emptied as its
 * owner, then removed from out/ (outfd) by this process, and closed. 0, or
 * -1 with errno (closed all the same). */
int outdir_discard(struct outdir *od, int outfd, const char *id);

/* "SPOOL/out/ID". */
const char *outdir_path(const struct outdir *od);

/* Whether files are made as the job's owner (see outdir_open). */
bool outdir_as_owner(const struct outdir *od);

/* Act as the owner (this thread's file system identity, and a umask of 0
 * so modes are exact) until the matching outdir_leave: the calls below
 * then make no identity switch of their own, so a batch of them costs
 * one. Nests for one od; the thread must not enter another meanwhile.
 * Returns 0, or -1 with errno set (nothing entered). */
int outdir_enter(struct outdir *od);
void outdir_leave(struct outdir *od);

/* Create name afresh (whatever was at the name is removed first, never
 * written through: it may be a link to the shared empty file), open for
 * reading and writing. The descriptor, or -1 with errno. */
int outdir_create(struct outdir *od, const char *name);

/* Make name an empty file: a hard link to one empty file per job (an
 * inode costs far more than a name on some file systems), or a file of
 * its own where links are refused. 0, or -1 with errno. */
int outdir_empty(struct outdir *od, const char *name);

/* Write name whole (len bytes of text): a temporary file renamed over it,
 * not synced. 0, or -1 with err and errno set. */
int outdir_write(struct outdir *od, const char *name, const char *text,
                 size_t len, struct mps_error *err);

/* Append line and a newline to records.jsonl (through the descriptor held
 * since outdir_open) and flush it. 0, or -1 with errno. */
int outdir_append_record(struct outdir *od, const char *line);

/* Call fn(arg, line) (fn may be NULL) for each line of records.jsonl,
 * from its start, read
 * through the descriptor held: each at most OUTDIR_MAX_LINE bytes, without
 * its newline. A torn last line (a crash), an over-long one, or a file
 * whose size is mostly holes (not one rank 0 wrote) ends the reading, and
 * the file is cut there so appended lines follow whole ones. For a job
 * taken over after a crash (adopt), before anything is appended: until
 * then, the report holds none of the lines that were there. Returns the
 * number of lines. */
size_t outdir_scan_records(struct outdir *od,
                           void (*fn)(void *arg, const char *line), void *arg);

/* Write report.json (as outdir_write) by jobreport_print: rep, then
 * "tasks": every line of records.jsonl, in order. Reads no more of
 * records.jsonl than rank 0 wrote (or found whole when taking the job over),
 * whatever the job's tasks did to the file meanwhile. 0, or -1 with err and
 * errno set. */
int outdir_write_report(struct outdir *od, const struct job_report *rep,
                        struct mps_error *err);

#endif
