import { createRequire } from 'node:module';
import { Router, type Response } from 'express';

const require = createRequire(import.meta.url);

/**
 * Browser libraries the dashboard uses, served by the receiver from the npm packages installed
 * with it (never a CDN: the page's Content-Security-Policy allows only this origin, and an
 * operator's browser may have no Internet). Exact versions are pinned in package.json.
 *   - uPlot (MIT, https://github.com/leeoniya/uPlot): the charts. No dependencies; it styles its
 *     elements through the CSSOM (element.style), which a CSP without 'unsafe-inline' allows.
 */
const VENDOR_FILES: Record<string, string> = {
  'uPlot.esm.js': require.resolve('uplot/dist/uPlot.esm.js'),
  'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
};

/** GET /dashboard/vendor/<file> for the files above (mounted behind the dashboard's scope check). */
export function vendorRoutes(setHeaders: (res: Response) => void): Router {
  const router = Router();
  for (const [name, path] of Object.entries(VENDOR_FILES)) {
    router.get(`/vendor/${name}`, (_req, res) => {
      setHeaders(res);
      res.sendFile(path);
    });
  }
  return router;
}
