// `sync-legacy-users-to-librechat`: the seed's name for `librechat-supabase users sync`.
import { syncCommand } from '../users/commands.js';

await syncCommand('sync-legacy-users-to-librechat').parseAsync(process.argv);
