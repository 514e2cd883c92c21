import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { migrateDatabase } from '../db/migrate.js';

const config = loadConfig();
const logger = createLogger(config.logLevel, 'migrate');
try {
  await migrateDatabase(config.databaseUrl);
  logger.info({ database: new URL(config.databaseUrl).pathname.slice(1) }, 'migrations applied');
} catch (error) {
  logger.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
}
