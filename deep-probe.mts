import { profile } from './src/profiler/profile.js';
try { const d = await profile('/tmp/cp/deep.jsonl', { sample: 1000 }); console.log('ok', JSON.stringify(d).slice(0, 300)); } catch (e) { console.log('err', (e as Error).name, (e as Error).message.slice(0,300)); }
