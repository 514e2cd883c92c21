import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { migrateDatabase } from '../db/migrate.js';

const config = loadConfig();
const logger = createLogger(config.process.logLevel, 'migrate');
try {
  await migrateDatabase(config.database.url);
  logger.info({ database: new URL(config.database.url).pathname.slice(1) }, 'migrations applied');
} catch (error) {
  logger.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
}
