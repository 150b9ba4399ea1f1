/* SPDX-License-Identifier: MIT */
/* What submit makes of its inputs: the job file read and validated, the
 * submit_* keys, and the task file and archive copied into data/. Each
 * function prints its error (cli_error) before it fails. */
#ifndef MPISPOOL_SUBMITJOB_H
#define MPISPOOL_SUBMITJOB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "spool.h"

/* Whether s[0..len) is a valid environment variable name. */
bool submitjob_valid_env_name(const char *s, size_t len);
/* Load a job file (path or "-": standard input) as a JSON object. */
json_t *submitjob_load(const char *path);
/* The job's JSON text as it goes into the spool (malloc'd, *len bytes). */
char *submitjob_text(json_t *job, size_t *len);
/* Validate the job as a coordinator will; 0 or -1 with a message naming
 * the job file (job_path, or NULL for a job made from the options). */
int submitjob_validate(json_t *job, const char *job_path);
/* A job file's relative file name (task_file, archive) made relative to
 * the job file's directory (malloc'd). */
char *submitjob_relpath(const char *job_path, const char *task_file);
/* The base name of the task file the user gave (--tasks FILE, else the
 * job file's task_file) as disBatch names it: "stdin" for standard
 * input. NULL when none was given. */
json_t *submitjob_task_file_name(const char *tasks_opt, json_t *job);
/* Copy the task file src read from in ("-": stdin) to data/JOBID.tasks;
 * *data_path gets the copy's path, *ntasks its number of tasks. 0 or -1. */
int submitjob_copy_tasks(struct spool *sp, const char *jobid, FILE *in,
                         const char *src, char **data_path, uint64_t *ntasks);
/* A "stdout"/"stderr" pattern for ntasks tasks needs %t; 0 or -1. */
int submitjob_check_outputs(json_t *job, uint64_t ntasks);
/* Copy the archive open at in_fd (named src) to data/JOBID.archive;
 * *data_path gets the copy's path. 0 or -1. */
int submitjob_copy_archive(struct spool *sp, const char *jobid, int in_fd,
                           const char *src, char **data_path);
/* Open an archive to submit: a descriptor, or -1. */
int submitjob_open_archive(const char *src);
/* Add the submit_* keys (directory, environment, host, time, umask) that
 * the job does not have yet; 0 or -1. */
int submitjob_add_keys(json_t *job);

#endif
