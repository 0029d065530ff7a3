/** The SOAP partner `login` call, as jsforce's username/password login sends it. */
import { randomBytes } from 'node:crypto';
import type { EmulatorState } from './state';

/** The XML answer and status for one login request body. */
export function soapLogin(
  state: EmulatorState,
  version: string,
  body: string,
): { status: number; xml: string } {
  const username = xmlText(body, 'username');
  const password = xmlText(body, 'password');
  const user = state.users.find((u) => u.username === username);
  const expected = user ? user.password + (user.securityToken ?? '') : undefined;
  if (
    username === undefined ||
    password === undefined ||
    expected === undefined ||
    password !== expected
  ) {
    return { status: 500, xml: INVALID_LOGIN_FAULT };
  }

  const sessionId = `${state.orgId}!AQ${randomBytes(24).toString('hex')}`;
  state.sessions.add(sessionId);
  const serverUrl = `${state.baseUrl}/services/Soap/u/${version}/${state.orgId}`;
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<soapenv:Body><loginResponse><result>' +
    `<metadataServerUrl>${state.baseUrl}/services/Soap/m/${version}/${state.orgId}` +
    '</metadataServerUrl>' +
    '<passwordExpired>false</passwordExpired><sandbox>true</sandbox>' +
    `<serverUrl>${serverUrl}</serverUrl><sessionId>${sessionId}</sessionId>` +
    `<userId>${USER_ID}</userId><userInfo><organizationId>${state.orgId}</organizationId>` +
    `<userId>${USER_ID}</userId><userName>${escapeXml(username)}</userName></userInfo>` +
    '</result></loginResponse></soapenv:Body></soapenv:Envelope>';
  return { status: 200, xml };
}

const USER_ID = '005000000000001AAA';

/** The fault Salesforce sends for a wrong username, password or security token. */
const INVALID_LOGIN_FAULT =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:sf="urn:fault.partner.soap.sforce.com" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
  '<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>' +
  '<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.' +
  '</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault">' +
  '<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>' +
  '<sf:exceptionMessage>Invalid username, password, security token; or user locked out.' +
  '</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>' +
  '</soapenv:Body></soapenv:Envelope>';

function xmlText(body: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body);
  return match ? unescapeXml(match[1]!) : undefined;
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
