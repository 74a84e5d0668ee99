import { sql } from 'drizzle-orm';
import type { Actor, Role } from '../../platform/actor.ts';
import { type Db, prepareSql } from '../../platform/db.ts';
import type { AttachmentKind } from '../../platform/storage/service.ts';
import { PROVIDER_VISIBLE } from './directory-queries.ts';
import { VERIFICATION_REVIEWERS } from './verification-service.ts';

/** Staff who manage accounts (the /admin/users routes), and so may look at a profile's photo. */
const ACCOUNT_STAFF: readonly Role[] = ['admin', 'moderator'];

const hasRole = (actor: Actor, roles: readonly Role[]) => actor.roles.some((r) => roles.includes(r));

/**
 * The files the users module attaches: a profile photo, seen wherever the profile is (anyone, for a provider
 * the directory shows; account staff), and a verification's evidence, seen only by the staff who review
 * verifications. Both are the owner's own uploads on the owner's own profile.
 */
export function userAttachments(db: Db): AttachmentKind[] {
  const profilePhoto = prepareSql<{ public: boolean }>(
    db,
    sql`select exists (
        select 1 from provider_profiles p join users u on u.id = up.user_id
        where p.user_profile_id = up.id and ${PROVIDER_VISIBLE}) as public
      from user_profiles up
      where up.user_id = ${sql.placeholder('owner')}::uuid and up.photo_file_id = ${sql.placeholder('file')}::uuid
        and not up.is_deleted`,
  );
  const evidence = prepareSql(
    db,
    sql`select 1 from user_verifications v join user_profiles up on up.id = v.user_profile_id
      where up.user_id = ${sql.placeholder('owner')}::uuid
        and ${sql.placeholder('file')}::uuid = any(v.evidence_file_ids) and not v.is_deleted
      limit 1`,
  );

  return [
    {
      name: 'profile photos',
      purpose: 'profile_photo',
      visibleTo: `anyone while the directory shows the provider, and staff (${ACCOUNT_STAFF.join(', ')})`,
      async canSee(actor, file) {
        const [row] = await profilePhoto({ owner: file.ownerId, file: file.id });
        return !!row && (row.public || hasRole(actor, ACCOUNT_STAFF));
      },
    },
    {
      name: 'verification evidence',
      purpose: 'verification_evidence',
      visibleTo: `only staff who review verifications (${VERIFICATION_REVIEWERS.join(', ')})`,
      async canSee(actor, file) {
        if (!hasRole(actor, VERIFICATION_REVIEWERS)) return false;
        return (await evidence({ owner: file.ownerId, file: file.id })).length > 0;
      },
    },
  ];
}
