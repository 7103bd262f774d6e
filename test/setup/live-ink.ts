// Tests that render the dashboard to a fake terminal need Ink in live mode even when CI=true is set.
import { loadInkLive } from '../../ui/live-ink.ts';

await loadInkLive();
