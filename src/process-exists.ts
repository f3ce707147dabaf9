/**
 * Whether process `pid` exists (signal 0 checks without sending anything). One that belongs
 * to another user answers EPERM: it exists too.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
