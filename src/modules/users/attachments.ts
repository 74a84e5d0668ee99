import type { Actor, Role } from '../../platform/actor.ts';
import type { Db } from '../../platform/db.ts';
import type { AttachmentKind } from '../../platform/storage/service.ts';
import { profilePhotoVisibility } from './profile-queries.ts';
import { evidenceHolder } from './verification-queries.ts';
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
  const profilePhoto = profilePhotoVisibility(db);
  const evidence = evidenceHolder(db);

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
