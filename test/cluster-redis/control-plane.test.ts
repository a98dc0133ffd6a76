/** The control plane across Herald processes on the shared Redis, with a unique prefix (control-plane-cases.ts). */
import { adminClient, deleteKeys, ensureRedis, uniquePrefix } from '../helpers/redis.js';
import { runProcessControlPlaneCases } from './control-plane-cases.js';

const redisUrl = await ensureRedis();
const prefix = uniquePrefix();
const admin = adminClient(redisUrl);

runProcessControlPlaneCases('one Redis', {
  options: { redisUrl, prefix },
  async cleanup() {
    await deleteKeys(admin, prefix);
    admin.disconnect();
  },
});
