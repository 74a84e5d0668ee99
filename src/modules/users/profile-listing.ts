import type { Db } from '../../platform/db.ts';
import type { SearchVocabulary } from '../../platform/search/service.ts';
import type { CatalogService } from '../core/service.ts';
import { DIRECTORY_SEARCH_SCOPE, providerTextsHold } from './directory-queries.ts';
import { activeServiceTexts, providerProfileById, setListing } from './profile-queries.ts';

/**
 * What the directory finds a provider by: the search text (business name, description, the descriptions
 * of the active services and the names of the subcategories offered, whose words join the directory's
 * vocabulary) and the subcategories of the active services. A paused service is not shown, so its text
 * is not searchable either. Called by every change to the profile's texts or its services.
 */
export function createListing({
  catalog,
  vocabulary,
}: {
  catalog: Pick<CatalogService, 'subcategorySearchTerms'>;
  vocabulary: SearchVocabulary;
}) {
  return async function refreshListing(tx: Db, providerId: string) {
    const provider = await providerProfileById(tx, providerId);
    if (!provider) return;
    const services = await activeServiceTexts(tx, providerId);
    const offeredSubcategoryIds = [...new Set(services.map((s) => s.subcategoryId))];
    const names = await catalog.subcategorySearchTerms(offeredSubcategoryIds);
    const searchText = [
      provider.businessName,
      provider.description,
      ...services.map((s) => s.description),
      ...names,
    ]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
    await setListing(tx, providerId, { searchText, offeredSubcategoryIds });
    await vocabulary.addWords(tx, DIRECTORY_SEARCH_SCOPE, searchText);
    if (provider.searchText !== searchText) {
      await vocabulary.dropWords(tx, DIRECTORY_SEARCH_SCOPE, provider.searchText, providerTextsHold);
    }
  };
}
