/*
 * scheduler: the public header of the scheduler module, the only one other
 * modules and cli/main.c include. For now it re-exports the cron API (parse,
 * next fire times, per-project jitter, the `jirasync cron` subcommand); the
 * schedule loop, catch-up and overlap policy will be declared here as well.
 */
#ifndef JS_SCHEDULER_H
#define JS_SCHEDULER_H

#include "scheduler/cron.h"

#endif
