// `check-librechat-sync-status`: the seed's name for `librechat-supabase users status`.
import { statusCommand } from '../users/commands.js';

await statusCommand('check-librechat-sync-status').parseAsync(process.argv);
