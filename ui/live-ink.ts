// Ink reads CI / CONTINUOUS_INTEGRATION once, when it is first imported (the is-in-ci package), and in
// "CI mode" it draws nothing until the app unmounts. The dashboard is meant to be live whenever it has a
// terminal, even in a shell that exports CI=true, so the first import of Ink happens here with those
// two variables hidden; they are put back at once, for child processes and everything else.

const CI_VARIABLES = ['CI', 'CONTINUOUS_INTEGRATION'] as const;

/** Load Ink in live mode. Must run before anything else imports 'ink'; later imports share the module. */
export async function loadInkLive(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const saved = new Map<string, string>();
  for (const name of CI_VARIABLES) {
    const value = env[name];
    if (value !== undefined) saved.set(name, value);
    delete env[name];
  }
  try {
    await import('ink');
  } finally {
    for (const [name, value] of saved) env[name] = value;
  }
}
