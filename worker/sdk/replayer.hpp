// Running tasks, all in one include: what the SDK answers a worker's tasks with.
//  - workflow_task.hpp: run_workflow_task, a workflow task answered by replaying its history;
//  - workflow_cache.hpp: the sticky cache, answering a task from the run's suspended code;
//  - query.hpp: run_query, a query answered from the replayed workflow's state;
//  - activity_runner.hpp: run_activity_task;
//  - errors.hpp: the failure types of those responses.
// Internals: history_check.hpp (history shape), replay_machine.hpp (the replay itself).
#pragma once

#include "worker/sdk/activity_runner.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/query.hpp"
#include "worker/sdk/workflow_cache.hpp"
#include "worker/sdk/workflow_task.hpp"
