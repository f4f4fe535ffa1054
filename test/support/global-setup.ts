import type { TestProject } from 'vitest/node';
import { startPostgres, type RunningPostgres } from './postgres-server.js';
import { startMongo, type RunningMongo } from './mongo-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    postgresTemplateDatabase: string;
    mongoUrl: string | null;
    mongoUnavailableReason: string | null;
  }
}

let postgres: RunningPostgres | undefined;
let mongo: RunningMongo | undefined;

/** Starts one real Postgres (and one Mongo-wire server) for the whole run; every test file gets its own database. */
export async function setup(project: TestProject): Promise<void> {
  postgres = await startPostgres();
  project.provide('postgresAdminUrl', postgres.adminUrl);
  project.provide('postgresTemplateDatabase', postgres.templateDatabase);

  const started = await startMongo();
  if ('url' in started) {
    mongo = started;
    project.provide('mongoUrl', started.url);
    project.provide('mongoUnavailableReason', null);
  } else {
    project.provide('mongoUrl', null);
    project.provide('mongoUnavailableReason', started.reason);
    console.warn(`[test setup] MongoDB-wire server unavailable, Mongo tests will be skipped: ${started.reason}`);
  }
}

export async function teardown(): Promise<void> {
  await mongo?.stop();
  await postgres?.stop();
}
