/**
 * Country values to ISO 3166-1 alpha-2, the form Braze's `country` attribute expects. Reads
 * alpha-2 and alpha-3 codes, and country names in English and French: the names come from the
 * runtime's ICU data (Intl.DisplayNames, full ICU ships with Node 20) for every code below,
 * plus the common short and old forms in COMMON_NAMES that ICU does not produce.
 */

// ISO 3166-1: alpha-3 and alpha-2 of the 249 officially assigned codes.
const ISO_3166 = `
AFG AF ALA AX ALB AL DZA DZ ASM AS AND AD AGO AO AIA AI ATA AQ ATG AG ARG AR ARM AM ABW AW AUS AU
AUT AT AZE AZ BHS BS BHR BH BGD BD BRB BB BLR BY BEL BE BLZ BZ BEN BJ BMU BM BTN BT BOL BO BES BQ
BIH BA BWA BW BVT BV BRA BR IOT IO BRN BN BGR BG BFA BF BDI BI CPV CV KHM KH CMR CM CAN CA CYM KY
CAF CF TCD TD CHL CL CHN CN CXR CX CCK CC COL CO COM KM COG CG COD CD COK CK CRI CR CIV CI HRV HR
CUB CU CUW CW CYP CY CZE CZ DNK DK DJI DJ DMA DM DOM DO ECU EC EGY EG SLV SV GNQ GQ ERI ER EST EE
SWZ SZ ETH ET FLK FK FRO FO FJI FJ FIN FI FRA FR GUF GF PYF PF ATF TF GAB GA GMB GM GEO GE DEU DE
GHA GH GIB GI GRC GR GRL GL GRD GD GLP GP GUM GU GTM GT GGY GG GIN GN GNB GW GUY GY HTI HT HMD HM
VAT VA HND HN HKG HK HUN HU ISL IS IND IN IDN ID IRN IR IRQ IQ IRL IE IMN IM ISR IL ITA IT JAM JM
JPN JP JEY JE JOR JO KAZ KZ KEN KE KIR KI PRK KP KOR KR KWT KW KGZ KG LAO LA LVA LV LBN LB LSO LS
LBR LR LBY LY LIE LI LTU LT LUX LU MAC MO MDG MG MWI MW MYS MY MDV MV MLI ML MLT MT MHL MH MTQ MQ
MRT MR MUS MU MYT YT MEX MX FSM FM MDA MD MCO MC MNG MN MNE ME MSR MS MAR MA MOZ MZ MMR MM NAM NA
NRU NR NPL NP NLD NL NCL NC NZL NZ NIC NI NER NE NGA NG NIU NU NFK NF MKD MK MNP MP NOR NO OMN OM
PAK PK PLW PW PSE PS PAN PA PNG PG PRY PY PER PE PHL PH PCN PN POL PL PRT PT PRI PR QAT QA REU RE
ROU RO RUS RU RWA RW BLM BL SHN SH KNA KN LCA LC MAF MF SPM PM VCT VC WSM WS SMR SM STP ST SAU SA
SEN SN SRB RS SYC SC SLE SL SGP SG SXM SX SVK SK SVN SI SLB SB SOM SO ZAF ZA SGS GS SSD SS ESP ES
LKA LK SDN SD SUR SR SJM SJ SWE SE CHE CH SYR SY TWN TW TJK TJ TZA TZ THA TH TLS TL TGO TG TKL TK
TON TO TTO TT TUN TN TUR TR TKM TM TCA TC TUV TV UGA UG UKR UA ARE AE GBR GB USA US UMI UM URY UY
UZB UZ VUT VU VEN VE VNM VN VGB VG VIR VI WLF WF ESH EH YEM YE ZMB ZM ZWE ZW`;

// Forms people write that ICU's display names do not give (EN and FR), mapped to alpha-2.
const COMMON_NAMES: Record<string, string> = {
  usa: 'US',
  'united states of america': 'US',
  america: 'US',
  'etats unis d amerique': 'US',
  uk: 'GB',
  'great britain': 'GB',
  britain: 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
  'northern ireland': 'GB',
  angleterre: 'GB',
  'grande bretagne': 'GB',
  ecosse: 'GB',
  holland: 'NL',
  hollande: 'NL',
  'pays bas': 'NL',
  russia: 'RU',
  russie: 'RU',
  'south korea': 'KR',
  'coree du sud': 'KR',
  'north korea': 'KP',
  'coree du nord': 'KP',
  'ivory coast': 'CI',
  'cote divoire': 'CI',
  'czech republic': 'CZ',
  'republique tcheque': 'CZ',
  turkey: 'TR',
  turquie: 'TR',
  vietnam: 'VN',
  'viet nam': 'VN',
  'cape verde': 'CV',
  swaziland: 'SZ',
  burma: 'MM',
  'vatican city': 'VA',
  vatican: 'VA',
  macedonia: 'MK',
  'republic of ireland': 'IE',
  eire: 'IE',
  'east timor': 'TL',
  'hong kong sar': 'HK',
  'democratic republic of the congo': 'CD',
  drc: 'CD',
  rdc: 'CD',
  'republic of the congo': 'CG',
  uae: 'AE',
  'emirats arabes unis': 'AE',
  palestine: 'PS',
  bolivia: 'BO',
  iran: 'IR',
  syria: 'SY',
  laos: 'LA',
  moldova: 'MD',
  tanzania: 'TZ',
  venezuela: 'VE',
};

const ALPHA3_TO_2 = new Map<string, string>();
for (const [alpha3, alpha2] of pairs(ISO_3166.trim().split(/\s+/))) ALPHA3_TO_2.set(alpha3, alpha2);
const ALPHA2 = new Set(ALPHA3_TO_2.values());

let names: Map<string, string> | undefined;

/** The alpha-2 code of a country code or name (EN/FR), or undefined when it is not one. */
export function toCountryCode(raw: string): string | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  const upper = text.toUpperCase();
  if (/^[A-Z]{2}$/.test(upper))
    return ALPHA2.has(upper) ? upper : upper === 'UK' ? 'GB' : undefined;
  if (/^[A-Z]{3}$/.test(upper) && ALPHA3_TO_2.has(upper)) return ALPHA3_TO_2.get(upper);
  return countryNames().get(nameKey(text));
}

/** Accents, case, punctuation, "the"/"le/la/les" and spacing do not matter in a name. */
function nameKey(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[’'`]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .replace(/^(the|le|la|les|l) /, '')
    .trim();
}

// Built on first use: some 500 display names, once per process.
function countryNames(): Map<string, string> {
  if (names) return names;
  names = new Map();
  for (const locale of ['en', 'fr']) {
    const display = new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' });
    for (const code of ALPHA2) {
      const name = display.of(code);
      if (name) names.set(nameKey(name), code);
    }
  }
  for (const [name, code] of Object.entries(COMMON_NAMES)) names.set(nameKey(name), code);
  return names;
}

function* pairs(items: string[]): Generator<[string, string]> {
  for (let i = 0; i + 1 < items.length; i += 2) yield [items[i]!, items[i + 1]!];
}
