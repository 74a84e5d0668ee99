import type { Actor, Role } from '../../platform/actor.ts';
import { type AuditEntry, writeAudit } from '../../platform/audit/service.ts';
import type { Db } from '../../platform/db.ts';
import {
  ConflictError,
  NotFoundError,
  onUniqueViolation,
  RuleViolationError,
} from '../../platform/errors.ts';
import type { CaseRules } from '../../platform/own-case.ts';
import { type IdSort, idPages, type PageRequest, type PageResult } from '../../platform/pagination.ts';
import type { FileService } from '../../platform/storage/service.ts';
import type { AccountEvents } from './events.ts';
import type { ProfileService } from './profile-service.ts';
import { type userProfiles, userVerifications, type VERIFICATION_TYPES } from './schema.ts';
import {
  badgeProvider,
  decidePending,
  insertVerification,
  lockUnbadgedProviders,
  lockVerification,
  setProfileVerification,
  shareProfile,
  verificationOf,
  verificationQueue,
  verificationsOf,
  verificationWithOwner,
} from './verification-queries.ts';
import type { AdminVerificationView, MyVerificationView } from './verification-routes.ts';

export type VerificationType = (typeof VERIFICATION_TYPES)[number];
type VerificationRow = typeof userVerifications.$inferSelect;
type VerificationStatus = VerificationRow['status'];
type ProfileRow = typeof userProfiles.$inferSelect;

/** Types a moderator cannot judge without a document. */
export const EVIDENCE_REQUIRED: readonly VerificationType[] = ['identity', 'business', 'background_check'];
export const MAX_EVIDENCE_FILES = 10;
/**
 * Staff who review verifications and so see their evidence: identity documents are the most sensitive
 * thing we hold, and no other staff work needs them.
 */
export const VERIFICATION_REVIEWERS: readonly Role[] = ['admin', 'moderator'];

export interface SubmitVerificationInput {
  verification_type: VerificationType;
  evidence_file_ids?: string[];
  note?: string;
}

export interface DecisionInput {
  public_note?: string;
  admin_notes?: string;
}

export interface AdminVerificationFilter extends PageRequest {
  status?: VerificationStatus[];
  type?: VerificationType;
  user_id?: string;
  sort: IdSort;
}

const myPages = idPages('users.my_verifications', userVerifications.id);
const adminPages = idPages('users.admin_verifications', userVerifications.id);

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** What the user sees of their own request: never the staff's internal notes or who reviewed it. */
function myView(row: VerificationRow): MyVerificationView {
  return {
    id: row.id,
    verification_type: row.verificationType,
    status: row.status,
    evidence_file_ids: row.evidenceFileIds,
    user_note: row.userNote,
    public_note: row.publicNote,
    created_at: row.createdAt.toISOString(),
    reviewed_at: iso(row.reviewedAt),
  };
}

function adminView(row: VerificationRow, userId: string): AdminVerificationView {
  return {
    ...myView(row),
    user_id: userId,
    user_profile_id: row.userProfileId,
    admin_notes: row.adminNotes,
    reviewed_by: row.reviewedBy,
    updated_at: row.updatedAt.toISOString(),
  };
}

const verificationNotFound = () => new NotFoundError('verification');

export type VerificationService = ReturnType<typeof createVerificationService>;

export function createVerificationService({
  db,
  files,
  profiles,
  cases,
  events,
}: {
  db: Db;
  files: FileService;
  profiles: ProfileService;
  cases: Pick<CaseRules, 'assertNotOwnCase'>;
  events: AccountEvents;
}) {
  /** Marks the profile verified and gives a provider profile the directory's verified badge. */
  async function markIdentityVerified(tx: Db, profile: ProfileRow): Promise<AuditEntry[]> {
    const audit: AuditEntry[] = [];
    if (profile.verificationStatus !== 'verified') {
      const after = await setProfileVerification(tx, profile.id, 'verified');
      audit.push({ action: 'update', entity: 'user_profiles', entityId: profile.id, before: profile, after });
    }
    const providers = await lockUnbadgedProviders(tx, profile.id);
    for (const before of providers) {
      const after = await badgeProvider(tx, before.id);
      audit.push({ action: 'update', entity: 'provider_profiles', entityId: before.id, before, after });
    }
    return audit;
  }

  return {
    /**
     * Files a verification request. Evidence must be the caller's own `verification_evidence` uploads;
     * an identity request moves an unverified profile to `pending`. One pending request per type.
     */
    async submit(actor: Actor, input: SubmitVerificationInput): Promise<MyVerificationView> {
      const userId = actor.userId;
      if (!userId) throw new NotFoundError('user');
      const given = input.evidence_file_ids ?? [];
      const evidence = [...new Set(given)];
      if (EVIDENCE_REQUIRED.includes(input.verification_type) && evidence.length === 0) {
        throw new RuleViolationError(
          'evidence_required',
          `a ${input.verification_type} verification needs evidence`,
          [
            {
              in: 'body',
              field: 'evidence_file_ids',
              message: 'upload at least one file with purpose verification_evidence',
            },
          ],
        );
      }
      return onUniqueViolation(
        db.transaction(async (tx) => {
          const profile = await profiles.ensureProfile(tx, actor, userId);
          if (input.verification_type === 'identity' && profile.verificationStatus === 'verified') {
            throw new ConflictError('already_verified', 'your identity is already verified');
          }
          const created = await insertVerification(tx, {
            userProfileId: profile.id,
            verificationType: input.verification_type,
            evidenceFileIds: evidence,
            userNote: input.note ?? null,
          });
          await files.attach(actor, given, 'verification_evidence', {
            entity: 'user_verifications',
            id: created!.id,
            field: 'evidence_file_ids',
          });
          const audit: AuditEntry[] = [
            { action: 'create', entity: 'user_verifications', entityId: created!.id, after: created },
          ];
          if (input.verification_type === 'identity' && profile.verificationStatus === 'unverified') {
            const after = await setProfileVerification(tx, profile.id, 'pending', { from: 'unverified' });
            if (after)
              audit.push({
                action: 'update',
                entity: 'user_profiles',
                entityId: profile.id,
                before: profile,
                after,
              });
          }
          await writeAudit(tx, actor, audit);
          return myView(created!);
        }),
        {
          user_verifications_pending_uq: () =>
            new ConflictError(
              'verification_already_pending',
              `you already have a pending ${input.verification_type} verification; wait for its review`,
            ),
        },
      );
    },

    /** The caller's requests, newest first. */
    async listMine(actor: Actor, request: PageRequest): Promise<PageResult<MyVerificationView>> {
      const page = myPages(request);
      const rows = await verificationsOf(db, actor.userId ?? '', page);
      return page.page(
        rows,
        (r) => r.v.id,
        (r) => myView(r.v),
      );
    },

    /** One of the caller's requests; anyone else's is "not found". */
    async getMine(actor: Actor, id: string): Promise<MyVerificationView> {
      const row = await verificationOf(db, actor.userId ?? '', id);
      if (!row) throw verificationNotFound();
      return myView(row.v);
    },

    /** Staff: requests by status, type and user; oldest first by default, so the queue is worked in order. */
    async adminList(filter: AdminVerificationFilter): Promise<PageResult<AdminVerificationView>> {
      const page = adminPages(filter, filter.sort);
      const rows = await verificationQueue(db, filter, page);
      return page.page(
        rows,
        (r) => r.v.id,
        (r) => adminView(r.v, r.userId),
      );
    },

    async adminGet(id: string): Promise<AdminVerificationView> {
      const row = await verificationWithOwner(db, id);
      if (!row) throw verificationNotFound();
      return adminView(row.v, row.userId);
    },

    /**
     * A moderator's decision on a pending request. The row is locked and the update is conditional on
     * `pending`, so of two decisions at once exactly one lands and the other gets 409. An approved identity
     * verifies the profile (and badges its provider profile); a rejected one sends a pending profile back
     * to unverified. The decision and its consequences are audited in the same transaction.
     */
    async decide(
      actor: Actor,
      id: string,
      decision: Exclude<VerificationStatus, 'pending'>,
      input: DecisionInput,
    ): Promise<AdminVerificationView> {
      return db.transaction(async (tx) => {
        const before = await lockVerification(tx, id);
        if (!before) throw verificationNotFound();
        const notPending = () =>
          new ConflictError('verification_not_pending', `this verification was already ${before.status}`);
        if (before.status !== 'pending') throw notPending();
        const profile = await shareProfile(tx, before.userProfileId);
        if (!profile) throw verificationNotFound();
        await cases.assertNotOwnCase(tx, actor, [profile.userId], 'party');

        const after = await decidePending(tx, id, {
          status: decision,
          publicNote: input.public_note ?? null,
          adminNotes: input.admin_notes ?? before.adminNotes,
          reviewedBy: actor.userId,
          reviewedAt: new Date(),
        });
        if (!after) throw notPending();

        const audit: AuditEntry[] = [
          { action: 'update', entity: 'user_verifications', entityId: id, before, after },
        ];
        if (before.verificationType === 'identity') {
          if (decision === 'approved') {
            audit.push(...(await markIdentityVerified(tx, profile)));
          } else if (profile.verificationStatus === 'pending') {
            const reverted = await setProfileVerification(tx, profile.id, 'unverified', {
              unless: 'verified',
            });
            if (reverted) {
              audit.push({
                action: 'update',
                entity: 'user_profiles',
                entityId: profile.id,
                before: profile,
                after: reverted,
              });
            }
          }
        }
        await writeAudit(tx, actor, audit);
        await events.emit({
          type: 'verification_decided',
          user_id: profile.userId,
          at: new Date().toISOString(),
          verification_id: id,
          verification_type: after.verificationType,
          decision,
        });
        return adminView(after, profile.userId);
      });
    },
  };
}
