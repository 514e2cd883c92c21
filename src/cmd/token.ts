import { loadConfig } from '../config.js';
import { signBuyerToken } from '../auth/jwt.js';

// `npm run token -- alice` prints a buyer token for alice, signed with JWT_SECRET.
const buyer = process.argv[2] ?? 'alice';
const config = loadConfig();
process.stdout.write(`${signBuyerToken(buyer, config.jwt.secret)}\n`);
