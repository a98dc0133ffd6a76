/** `--engine redis --workers 2` on the shared Redis, with a unique prefix (workers-control-cases.ts). */
import { adminClient, deleteKeys, ensureRedis, uniquePrefix } from '../helpers/redis.js';
import { runWorkersControlCases } from './workers-control-cases.js';

const redisUrl = await ensureRedis();
const prefix = uniquePrefix();
const admin = adminClient(redisUrl);

runWorkersControlCases('redis', {
  options: { redisUrl, prefix },
  async cleanup() {
    await deleteKeys(admin, prefix);
    admin.disconnect();
  },
});
