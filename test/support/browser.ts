import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

// Any installed Chromium or Chrome: CHROME_PATH, else the usual names on PATH, else the usual
// macOS apps. playwright-core never downloads a browser.
const browserNames = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const macApps = [
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];
const install =
  'install it with `sudo apt-get install -y chromium` (Debian; any Chrome or Chromium will do)';

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

export function findBrowser(): { path: string } | { problem: string } {
  const chosen = process.env.CHROME_PATH;
  if (chosen) {
    if (isExecutable(chosen)) return { path: chosen };
    return { problem: `CHROME_PATH=${chosen} is not an executable file: ${install}` };
  }
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const found = [
    ...browserNames.flatMap((name) => dirs.map((dir) => path.join(dir, name))),
    ...macApps,
  ];
  const browser = found.find(isExecutable);
  if (browser) return { path: browser };
  return {
    problem: `no Chromium: none of ${browserNames.join(', ')} is on PATH: ${install}, or set CHROME_PATH`,
  };
}

export function launchChromium(): Promise<Browser> {
  const found = findBrowser();
  if (!('path' in found)) {
    const missing = new Error(found.problem);
    missing.stack = missing.message;
    throw missing;
  }
  return chromium.launch({
    executablePath: found.path,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
