import { BadUserInputError } from '@courier/errors';
import type { Logger } from '@courier/logging';
import { internalHandler } from '@courier/server';
import type { Router } from 'express';
import type { UploadFormService } from '../services/upload-form-service.ts';

/**
 * Attachments' internal API for other subgraphs: `POST /internal/avatar-upload-forms`
 * `{ uploadLength: number | null }` answers an upload form for a profile avatar (10 MiB at most;
 * null = any length up to that), which accounts returns from `setProfile`. Coded errors
 * (`BAD_USER_INPUT`, `PAYLOAD_TOO_LARGE`) pass through to accounts' caller.
 */
export function attachmentsInternalRoutes(forms: UploadFormService, logger: Logger) {
  return (router: Router) => {
    router.post(
      '/avatar-upload-forms',
      internalHandler(logger, async (req, res) => {
        const body = (req.body ?? {}) as { uploadLength?: unknown };
        const length = body.uploadLength ?? null;
        if (length !== null && typeof length !== 'number') {
          throw new BadUserInputError('uploadLength must be a number or null', 'uploadLength');
        }
        res.json(forms.createAvatarForm(length));
      }),
    );
  };
}
